"""Telegram's HTML parse mode as the fake Bot API applies it: visible text, entities, errors.

Real Telegram keeps a bare ``&`` or ``>`` as a literal character. In strict mode (the fake's
default) both are refused like a parse error, so a missing escape in our code fails a test
instead of slipping through until some user types "R&D" or "<3".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
        "tg-emoji",
    }
)

_PLAIN_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "pre": "pre",
    "code": "code",
}

_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_REFERENCE = re.compile(r"&(?:#[xX]([0-9a-fA-F]+)|#([0-9]+)|([a-zA-Z0-9]+));?")
_TAG_NAME = re.compile(r"[^\s>]*")
_ATTRIBUTE_NAME = re.compile(r"[^\s=>]*")
_NAME_TOKEN = re.compile(r"[a-zA-Z0-9.\-]*")
_SPACES = re.compile(r"\s*")


class EntityParseError(ValueError):
    """Markup Telegram would refuse; the text follows "can't parse entities: "."""


@dataclass(frozen=True)
class Formatted:
    """What a user sees: the text without markup, and the entities that style it."""

    text: str
    entities: tuple[dict, ...] = ()

    def trimmed(self) -> Formatted:
        """Drop surrounding whitespace the way Telegram does, moving entities to match."""
        text = self.text.strip()
        shift = utf16_len(self.text) - utf16_len(self.text.lstrip())
        limit = utf16_len(text)
        entities = tuple(
            moved for entity in self.entities if (moved := _moved(entity, shift, limit))
        )
        return Formatted(text, entities)


@dataclass
class _OpenTag:
    tag: str
    start: int
    first_piece: int
    entity: dict | None = None
    language: str = ""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse_html(markup: str, *, strict: bool = True) -> Formatted:
    """Parse `markup` like Telegram's HTML parse mode, or raise `EntityParseError`."""
    return _HtmlParser(markup, strict).run()


def _moved(entity: dict, shift: int, limit: int) -> dict | None:
    start = max(entity["offset"] - shift, 0)
    end = min(entity["offset"] + entity["length"] - shift, limit)
    if end <= start:
        return None
    return {**entity, "offset": start, "length": end - start}


def _decode_reference(match: re.Match[str]) -> str | None:
    hex_digits, digits, name = match.groups()
    if name is not None:
        return _NAMED_REFERENCES.get(name)
    code_point = int(hex_digits, 16) if hex_digits else int(digits)
    if code_point > 0x10FFFF or 0xD800 <= code_point <= 0xDFFF or code_point == 0:
        return None
    return chr(code_point)


def _decode_attribute(value: str) -> str:
    """Decode the references inside an attribute value; unknown ones stay as written."""
    return _REFERENCE.sub(lambda match: _decode_reference(match) or match.group(), value)


class _HtmlParser:
    def __init__(self, markup: str, strict: bool) -> None:
        self._src = markup
        self._strict = strict
        self._out: list[str] = []
        self._u16 = 0
        self._open: list[_OpenTag] = []
        self._entities: list[dict] = []

    def run(self) -> Formatted:
        position = 0
        while position < len(self._src):
            position = self._step(position)
        if self._open:
            tag = self._open[-1].tag
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        entities = sorted(self._entities, key=lambda entity: (entity["offset"], -entity["length"]))
        return Formatted("".join(self._out), tuple(entities))

    def _step(self, position: int) -> int:
        char = self._src[position]
        if char == "<":
            if self._src.startswith("</", position):
                return self._end_tag(position)
            return self._start_tag(position)
        if char == "&":
            return self._reference(position)
        if char == ">" and self._strict:
            raise self._error('Unescaped ">"', position)
        self._emit(char)
        return position + 1

    def _emit(self, text: str) -> None:
        self._out.append(text)
        self._u16 += utf16_len(text)

    def _error(self, what: str, position: int, detail: str = "") -> EntityParseError:
        byte_offset = len(self._src[:position].encode("utf-8", "surrogatepass"))
        return EntityParseError(f"{what} at byte offset {byte_offset}{detail}")

    def _skip_spaces(self, position: int) -> int:
        return _end_of(_SPACES, self._src, position)

    def _reference(self, position: int) -> int:
        match = _REFERENCE.match(self._src, position)
        decoded = _decode_reference(match) if match else None
        if match is None or decoded is None:
            if self._strict:
                raise self._error('Unescaped "&"', position)
            self._emit("&")
            return position + 1
        self._emit(decoded)
        return match.end()

    def _start_tag(self, position: int) -> int:
        name_end = _end_of(_TAG_NAME, self._src, position + 1)
        if name_end >= len(self._src):
            raise self._error("Unclosed start tag", position)
        tag = self._src[position + 1 : name_end].lower()
        if tag not in ALLOWED_TAGS:
            raise self._error(f'Unsupported start tag "{tag}"', position)
        attributes, after = self._attributes(tag, position, name_end)
        entity = self._entity_for(tag, attributes, position)
        css_class = attributes.get("class", "") if tag == "code" else ""
        language = css_class.removeprefix("language-") if css_class.startswith("language-") else ""
        self._open.append(_OpenTag(tag, self._u16, len(self._out), entity, language))
        return after

    def _attributes(self, tag: str, position: int, cursor: int) -> tuple[dict[str, str], int]:
        attributes: dict[str, str] = {}
        while True:
            cursor = self._skip_spaces(cursor)
            if cursor >= len(self._src):
                raise self._error("Unclosed start tag", position)
            if self._src[cursor] == ">":
                return attributes, cursor + 1
            name, value, cursor = self._attribute(tag, position, cursor)
            attributes[name] = value

    def _attribute(self, tag: str, position: int, cursor: int) -> tuple[str, str, int]:
        name_end = _end_of(_ATTRIBUTE_NAME, self._src, cursor)
        if name_end == cursor:
            raise self._error(f'Empty attribute name in the tag "{tag}"', position)
        name = self._src[cursor:name_end].lower()
        cursor = self._skip_spaces(name_end)
        if cursor >= len(self._src) or self._src[cursor] != "=":
            return name, "", cursor
        value, cursor = self._attribute_value(position, self._skip_spaces(cursor + 1))
        return name, value, cursor

    def _attribute_value(self, position: int, cursor: int) -> tuple[str, int]:
        if cursor >= len(self._src):
            raise self._error("Unclosed start tag", position)
        quote = self._src[cursor]
        if quote in "\"'":
            closing = self._src.find(quote, cursor + 1)
            if closing < 0:
                raise self._error("Unclosed start tag", position)
            return _decode_attribute(self._src[cursor + 1 : closing]), closing + 1
        token_end = _end_of(_NAME_TOKEN, self._src, cursor)
        if token_end >= len(self._src):
            raise self._error("Unclosed start tag", position)
        if token_end == cursor or not (
            self._src[token_end].isspace() or self._src[token_end] == ">"
        ):
            raise self._error("Unexpected end of name token", cursor)
        return self._src[cursor:token_end], token_end

    def _entity_for(self, tag: str, attributes: dict[str, str], position: int) -> dict | None:
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise self._error('Tag "span" must have class "tg-spoiler"', position)
        if tag == "a":
            return {"type": "text_link", "url": attributes.get("href", "")}
        if tag == "blockquote":
            expandable = "expandable" in attributes
            return {"type": "expandable_blockquote" if expandable else "blockquote"}
        if tag == "tg-emoji":
            return {"type": "custom_emoji", "custom_emoji_id": attributes.get("emoji-id", "")}
        return {"type": _PLAIN_ENTITY_TYPES[tag]}

    def _end_tag(self, position: int) -> int:
        if not self._open:
            raise self._error("Unexpected end tag", position)
        name_end = _end_of(_TAG_NAME, self._src, position + 2)
        closing = self._skip_spaces(name_end)
        if closing >= len(self._src) or self._src[closing] != ">":
            raise self._error("Unclosed end tag", position)
        name = self._src[position + 2 : name_end].lower()
        opened = self._open.pop()
        if name and name != opened.tag:
            detail = f', expected "</{opened.tag}>", found "</{name}>"'
            raise self._error("Unmatched end tag", position, detail)
        self._close(opened)
        return closing + 1

    def _close(self, opened: _OpenTag) -> None:
        if opened.entity is None or self._u16 == opened.start:
            return
        if opened.language and self._lend_language_to_pre(opened.language):
            return
        entity: dict | None = opened.entity
        if opened.tag == "a" and not opened.entity["url"]:
            entity = _link_to_itself("".join(self._out[opened.first_piece :]))
        if entity is not None:
            extra = {key: value for key, value in entity.items() if key != "type"}
            length = self._u16 - opened.start
            self._entities.append(
                {"type": entity["type"], "offset": opened.start, "length": length, **extra}
            )

    def _lend_language_to_pre(self, language: str) -> bool:
        """A code block names its language as <pre><code class="language-x">."""
        parent = self._open[-1] if self._open else None
        if parent is None or parent.tag != "pre" or parent.entity is None:
            return False
        parent.entity = {**parent.entity, "language": language}
        return True


def _end_of(pattern: re.Pattern[str], text: str, position: int) -> int:
    """Where a match of `pattern` (one that may be empty) starting at `position` ends."""
    match = pattern.match(text, position)
    return match.end() if match else position


def _link_to_itself(text: str) -> dict | None:
    """An <a> without href links its own text when that text looks like an address."""
    if not text or any(char.isspace() for char in text) or "." not in text:
        return None
    url = text if "://" in text else f"http://{text}/"
    return {"type": "text_link", "url": url}
