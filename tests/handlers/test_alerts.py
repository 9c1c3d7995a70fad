"""Raising an alert in the group, as a diplomat would, and what the group sees."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from storage.models import Alert
from tests.fakes import updates
from tests.support import people
from tests.support.harness import Harness

ALERT = "/alert critical Suspicious vehicle at the main gate"


def _alerts(vigil: Harness) -> list[Alert]:
    with Session(vigil.engine) as session:
        return list(session.exec(select(Alert)))


async def test_an_alert_is_stored_and_answered_with_a_card(vigil: Harness) -> None:
    command = await vigil.say(people.CONSUL, ALERT)

    (alert,) = _alerts(vigil)
    card = vigil.card_message(alert.id or 0)
    assert alert.level == "critical" and alert.text == "Suspicious vehicle at the main gate"
    assert alert.state == "waiting" and alert.organisation == "Consulate of Norway"
    assert card["reply_to_message"]["message_id"] == command["message"]["message_id"]
    text = vigil.card(alert.id or 0)
    assert "ALERT #1 · CRITICAL · Consulate of Norway" in text
    assert "Suspicious vehicle at the main gate" in text
    assert "Reported by Jane Doe at 14:00, 4 Dec" in text
    assert "Waiting" in text
    buttons = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["✅ Acknowledge", "✔️ Resolve"]


async def test_the_level_is_optional_and_defaults_to_high(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert Crowd gathering outside the visa section")

    (alert,) = _alerts(vigil)
    assert alert.level == "high" and alert.text == "Crowd gathering outside the visa section"


async def test_an_alert_without_text_gets_the_usage_and_stores_nothing(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert critical")

    assert _alerts(vigil) == []
    assert vigil.last_reply().startswith("Usage: /alert [critical|high|normal]")


async def test_someone_off_the_roster_is_refused_and_nothing_is_stored(vigil: Harness) -> None:
    await vigil.say(people.OUTSIDER, ALERT)

    assert _alerts(vigil) == []
    assert "not on Vigil's roster" in vigil.last_reply()


async def test_a_command_for_another_bot_is_ignored(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert@some_other_bot critical Fire")
    assert _alerts(vigil) == [] and vigil.replies() == []

    await vigil.say(people.CONSUL, "/alert@vigil_test_bot critical Fire")
    assert len(_alerts(vigil)) == 1


async def test_a_redelivered_update_creates_no_second_alert(vigil: Harness) -> None:
    update = updates.command(ALERT, from_user=people.CONSUL, chat=updates.group(people.GROUP_ID))

    await vigil.feed(update)
    await vigil.feed(update)

    assert len(_alerts(vigil)) == 1
    assert len(vigil.replies()) == 1


async def test_markup_characters_show_literally(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert <b>bold</b> & *stars* _under_ <script>")

    text = vigil.card(1)
    assert "<b>bold</b> & *stars* _under_ <script>" in text


async def test_a_very_long_alert_is_shortened_on_the_card_and_kept_whole(vigil: Harness) -> None:
    long_text = "Convoy blocked near the bridge. " * 200

    await vigil.say(people.CONSUL, f"/alert normal {long_text}")

    (alert,) = _alerts(vigil)
    assert alert.text == long_text.strip()
    card = vigil.card(alert.id or 0)
    assert len(card) <= 4096 and "…" in card and "Reported by Jane Doe" in card


async def test_a_multiline_alert_keeps_its_lines(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert high Shots heard\nNear gate 2\nStaff inside")

    (alert,) = _alerts(vigil)
    assert alert.text == "Shots heard\nNear gate 2\nStaff inside"


async def test_commands_from_a_private_chat_are_refused(vigil: Harness) -> None:
    chat = updates.private_chat(people.CONSUL)

    await vigil.say(people.CONSUL, ALERT, chat=chat)

    assert _alerts(vigil) == []
    assert vigil.tg.last_message(people.CONSUL["id"]).text.startswith("I only take commands")


async def test_help_in_private_lists_what_the_caller_may_do(vigil: Harness) -> None:
    await vigil.say(people.OFFICER, "/help", chat=updates.private_chat(people.OFFICER))

    text = vigil.tg.last_message(people.OFFICER["id"]).text
    assert "/ack" in text and "/onduty" in text and "/alert" in text


@pytest.mark.parametrize("status", [502, 500, 403, 404])
async def test_an_alert_is_kept_when_telegram_fails_to_post_the_card(
    vigil: Harness, status: int
) -> None:
    vigil.tg.fail_next("sendMessage", status=status)

    await vigil.say(people.CONSUL, ALERT)

    (alert,) = _alerts(vigil)
    assert alert.card_message_id is None and vigil.replies() == []
    await vigil.advance(seconds=5)
    assert "ALERT #1" in vigil.card(alert.id or 0)


async def test_a_card_waits_as_long_as_telegram_asks_after_a_429(vigil: Harness) -> None:
    vigil.tg.fail_next("sendMessage", status=429, retry_after=30)

    await vigil.say(people.CONSUL, ALERT)
    await vigil.advance(seconds=10)
    assert vigil.replies() == []

    await vigil.advance(seconds=25)
    assert len(vigil.replies()) == 1


async def test_a_deleted_card_is_posted_again_on_the_next_change(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    first = vigil.alert(1).card_message_id
    vigil.tg.fail_next(
        "editMessageText", status=400, description="Bad Request: message to edit not found"
    )

    await vigil.say(people.OFFICER, "/ack 1")

    alert = vigil.alert(1)
    assert alert.card_message_id != first
    assert "Acknowledged" in vigil.card(1)


async def test_a_card_waiting_after_a_429_is_not_retried_early_by_a_later_change(
    vigil: Harness,
) -> None:
    vigil.tg.fail_next("sendMessage", status=429, retry_after=30)
    await vigil.say(people.CONSUL, ALERT)
    vigil.clock.advance(seconds=5)

    await vigil.say(people.OFFICER, "/ack 1")

    cards = [c for c in vigil.tg.calls_to("sendMessage") if "ALERT #1" in c.params["text"]]
    assert len(cards) == 1  # only the refused attempt
    await vigil.advance(seconds=30)
    assert "Acknowledged by Ali Raza" in vigil.card(1)


@pytest.mark.parametrize("word", ["critical:", "CRITICAL", "Critical,", "critical -"])
async def test_the_level_is_read_as_people_type_it_on_a_phone(vigil: Harness, word: str) -> None:
    await vigil.say(people.CONSUL, f"/alert {word} fire in the lobby")

    (alert,) = _alerts(vigil)
    assert alert.level == "critical" and alert.text.endswith("fire in the lobby")
