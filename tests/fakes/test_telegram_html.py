"""The fake's HTML parse mode gives the text, entities and errors Telegram gives."""

from __future__ import annotations

import pytest

from tests.fakes.telegram_html import EntityParseError, Formatted, parse_html, utf16_len


@pytest.mark.parametrize(
    ("markup", "text", "entities"),
    [
        ("plain", "plain", []),
        ("<b>bold</b> &amp; <i>it</i>", "bold & it", [("bold", 0, 4), ("italic", 7, 2)]),
        (
            "<strong>x</strong><em>y</em><ins>z</ins>",
            "xyz",
            [("bold", 0, 1), ("italic", 1, 1), ("underline", 2, 1)],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
        ),
        ("<tg-spoiler>s</tg-spoiler>", "s", [("spoiler", 0, 1)]),
        ('<span class="tg-spoiler">s</span>', "s", [("spoiler", 0, 1)]),
        ("<blockquote>q</blockquote>", "q", [("blockquote", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ("<u>🚨 fire</u>", "🚨 fire", [("underline", 0, 7)]),
        ("&lt;tag&gt; &quot;q&quot; &#65;&#x42;", '<tag> "q" AB', []),
        ("<b>a<i>b</i></b>", "ab", [("bold", 0, 2), ("italic", 1, 1)]),
        ("<B>loud</B>", "loud", [("bold", 0, 4)]),
        ("<i>x</>", "x", [("italic", 0, 1)]),
    ],
)
def test_markup_becomes_visible_text_and_entities(
    markup: str, text: str, entities: list[tuple[str, int, int]]
) -> None:
    parsed = parse_html(markup)
    found = [(entity["type"], entity["offset"], entity["length"]) for entity in parsed.entities]
    assert parsed.text == text
    assert found == entities


def test_links_code_blocks_and_custom_emoji_keep_their_attributes() -> None:
    markup = (
        '<a href="https://example.org/?a=1&amp;b=2">map</a> '
        '<pre><code class="language-python">x = 1</code></pre> '
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    )
    entities = parse_html(markup).entities
    assert entities[0] == {
        "type": "text_link",
        "offset": 0,
        "length": 3,
        "url": "https://example.org/?a=1&b=2",
    }
    assert entities[1] == {"type": "pre", "offset": 4, "length": 5, "language": "python"}
    assert entities[2]["custom_emoji_id"] == "5368324170671202286"


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("<x>hi</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("é<br/>", 'Unsupported start tag "br/" at byte offset 2'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>a</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("a</b>", "Unexpected end tag at byte offset 1"),
        ("<b>a</b", "Unclosed end tag at byte offset 4"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x>y', "Unclosed start tag at byte offset 0"),
        ("<b =x>a</b>", 'Empty attribute name in the tag "b" at byte offset 0'),
        ("<span>a</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("🚨 <x>", 'Unsupported start tag "x" at byte offset 5'),
    ],
)
def test_broken_markup_is_refused_with_telegrams_wording(markup: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(markup)
    assert str(caught.value) == error


@pytest.mark.parametrize(
    ("markup", "error"),
    [
        ("Tom & Jerry", 'Unescaped "&" at byte offset 4'),
        ("&nbsp;", 'Unescaped "&" at byte offset 0'),
        ("a -> b", 'Unescaped ">" at byte offset 3'),
    ],
)
def test_strict_mode_refuses_what_telegram_would_show_literally(markup: str, error: str) -> None:
    with pytest.raises(EntityParseError, match=error):
        parse_html(markup)
    assert parse_html(markup, strict=False).text == markup


def test_trimming_drops_surrounding_whitespace_and_moves_entities() -> None:
    trimmed = parse_html("\n  <b>hot</b> \n").trimmed()
    assert trimmed == Formatted("hot", ({"type": "bold", "offset": 0, "length": 3},))


def test_lengths_are_counted_in_utf16_code_units() -> None:
    assert [utf16_len("abc"), utf16_len("é"), utf16_len("🚨")] == [3, 1, 2]
