"""/meeting, /agenda and the RSVP buttons: who may do what, and bad input changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.permissions import NOT_ON_ROSTER
from storage.meetings import MeetingReminder
from tests.fakes import updates
from tests.support import people
from tests.support.harness import Harness, MakeBot
from tests.support.meetings import RULE, advance_to, meetings, posted_text, reminders, start

MOVE_USAGE = "Usage: /meeting move YYYY-MM-DD HH:MM, a time still ahead"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
async def bot(make_bot: MakeBot) -> AsyncIterator[Harness]:
    """The real bot, started as `vigil run` starts it, on 4 December 2026 at 14:00 local."""
    harness = await start(make_bot())
    yield harness
    await harness.stop()


async def press(bot: Harness, user: dict[str, Any], reminder: MeetingReminder, code: str) -> str:
    assert reminder.chat_id is not None and reminder.message_id is not None
    message = bot.tg.message(reminder.chat_id, reminder.message_id)
    data = f"rsvp:{reminder.meeting_id}:{code}"
    await bot.feed(updates.callback_query(data, from_user=user, message=message))
    return str(bot.tg.callback_answers[-1]["text"])


async def test_meeting_without_a_rule_says_how_to_set_one(bot: Harness) -> None:
    await bot.say(people.CONSUL, "/meeting")

    assert bot.last_reply().startswith("No meeting is scheduled. An admin sets one")


async def test_only_an_admin_sets_the_rule(bot: Harness) -> None:
    await bot.say(people.SUPERVISOR, RULE)

    assert bot.last_reply().startswith("Only admin can set, move or cancel the monthly meeting")
    assert meetings(bot).store.current_rule() is None


@pytest.mark.parametrize(
    "command", ["/meeting every fifth friday", "/meeting every 40th", "/meeting weekly"]
)
async def test_an_unreadable_rule_gets_the_usage_and_changes_nothing(
    bot: Harness, command: str
) -> None:
    await bot.say(people.ADMIN, command)

    assert bot.last_reply().startswith("Usage: /meeting")
    assert meetings(bot).store.current_rule() is None


async def test_meeting_shows_the_next_one(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)

    await bot.say(people.CONSUL, "/meeting")

    assert bot.last_reply() == (
        "Next meeting: Monday 7 December 2026, 11:00, Central Police Office.\n"
        "Rule: every first Monday at 11:00, Central Police Office.\n"
        "Agenda: 0 item(s), /agenda to read it.\n"
        "Answers: 0 of 5 organisations."
    )


async def test_move_changes_one_meeting_and_its_reminders(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)

    await bot.say(people.ADMIN, "/meeting move 2026-12-09 15:30")

    assert bot.last_reply() == (
        "Meeting moved to Wednesday 9 December 2026, 15:30, Central Police Office. "
        "Reminders follow it."
    )
    meeting = meetings(bot).store.get(1)
    assert meeting is not None and meeting.moved and meeting.starts_at == utc(2026, 12, 9, 10, 30)
    assert [(r.due_at, r.status) for r in reminders(bot, 1)] == [
        (utc(2026, 11, 30, 6), "skipped"),  # it was never posted, and stays so
        (utc(2026, 12, 8, 10, 30), "pending"),
        (utc(2026, 12, 9, 9, 30), "pending"),
    ]
    await advance_to(bot, utc(2026, 12, 10))
    assert meetings(bot).upcoming().starts_at == utc(2027, 1, 4, 6)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "command", ["/meeting move 2026-12-01 11:00", "/meeting move tomorrow", "/meeting move"]
)
async def test_a_bad_or_past_move_gets_the_usage_and_changes_nothing(
    bot: Harness, command: str
) -> None:
    await bot.say(people.ADMIN, RULE)

    await bot.say(people.ADMIN, command)

    assert bot.last_reply().startswith(MOVE_USAGE)
    meeting = meetings(bot).store.get(1)
    assert meeting is not None and not meeting.moved


async def test_cancel_skips_one_meeting_and_the_tally_says_so(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)
    await advance_to(bot, utc(2026, 12, 6, 6))

    await bot.say(people.ADMIN, "/meeting cancel")

    assert bot.last_reply() == (
        "The meeting of Monday 7 December 2026, 11:00 is cancelled. "
        "Next meeting: Monday 4 January 2027, 11:00, Central Police Office."
    )
    day_before, hour_before = reminders(bot, 1)[1:]
    assert hour_before.status == "skipped"
    assert posted_text(bot, day_before).startswith("❌ Security meeting cancelled")
    assert bot.tg.message(people.GROUP_ID, day_before.message_id or 0).buttons == []
    assert await press(bot, people.OFFICER, day_before, "yes") == (
        "This meeting is over or cancelled."
    )


async def test_agenda_items_are_added_by_admins_and_read_by_everyone(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)
    await bot.say(people.CONSUL, "/agenda add Parking")
    assert bot.last_reply().startswith("Only admin can")

    await bot.say(people.ADMIN, "/agenda add Parking at the <Consulate> gates")
    await bot.say(people.ADMIN, "/agenda add Traffic plan")
    await bot.say(people.CONSUL, "/agenda")

    assert bot.last_reply() == (
        "Agenda of Monday 7 December 2026, 11:00:\n"
        "1. Parking at the <Consulate> gates\n"
        "2. Traffic plan"
    )
    await bot.say(people.CONSUL, "/agenda please")
    assert bot.last_reply() == "Usage: /agenda to see it, /agenda add <item> to add one"


async def test_a_new_rule_replaces_the_next_meeting_and_keeps_its_agenda(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)
    await bot.say(people.ADMIN, "/agenda add Traffic plan")

    await bot.say(people.ADMIN, "/meeting every last thursday 10:00 at Rangers HQ")

    assert bot.last_reply().endswith("Next meeting: Thursday 31 December 2026, 10:00, Rangers HQ.")
    old = meetings(bot).store.get(1)
    assert old is not None and old.cancelled
    assert {r.status for r in reminders(bot, 1)} == {"skipped"}
    await bot.say(people.CONSUL, "/agenda")
    assert bot.last_reply().endswith("1. Traffic plan")


async def test_answers_are_kept_per_organisation_and_the_latest_wins(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)
    await advance_to(bot, utc(2026, 12, 6, 6))
    reminder = reminders(bot, 1)[1]

    assert await press(bot, people.OFFICER, reminder, "yes") == "Police is attending."
    assert await press(bot, people.SUPERVISOR, reminder, "yes") == (
        "Police had already answered: attending."
    )
    assert await press(bot, people.SUPERVISOR, reminder, "deputy") == (
        "Police is sending a deputy."
    )
    assert await press(bot, people.OUTSIDER, reminder, "no") == NOT_ON_ROSTER

    text = posted_text(bot, reminder)
    assert "Attending: —\nSending a deputy: Police\nCan't attend: —" in text
    assert "Not answered yet: Consulate of Denmark, Consulate of Norway, Rangers" in text


async def test_rsvp_buttons_fit_telegram_s_callback_limit(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)
    await advance_to(bot, utc(2026, 12, 6, 6))

    reminder = reminders(bot, 1)[1]
    buttons = bot.tg.message(people.GROUP_ID, reminder.message_id or 0).buttons

    assert [b["text"] for b in buttons] == [
        "✅ Attending",
        "👤 Sending a deputy",
        "❌ Can't attend",
    ]
    assert all(len(b["callback_data"].encode()) < 64 for b in buttons)


async def test_moving_a_meeting_edits_its_latest_reminder(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)
    await advance_to(bot, utc(2026, 12, 6, 6))

    await bot.say(people.ADMIN, "/meeting move 2026-12-08 09:00")

    text = posted_text(bot, reminders(bot, 1)[1])
    assert "🕚 Tuesday 8 December 2026, 09:00" in text
    assert "Moved from Monday 7 December 2026, 11:00" in text
    assert reminders(bot, 1)[2].due_at == utc(2026, 12, 8, 3)


async def test_a_move_after_the_reminder_offsets_changed_keeps_the_planned_reminders(
    make_bot: MakeBot,
) -> None:
    first = await start(make_bot())
    await first.say(people.ADMIN, RULE)
    await first.stop()
    again = await start(make_bot(meeting_reminders=(timedelta(days=2),)))

    await again.say(people.ADMIN, "/meeting move 2026-12-09 15:30")
    await again.stop()

    assert again.last_reply().startswith("Meeting moved to Wednesday 9 December 2026, 15:30")
    assert [r.due_at for r in reminders(again, 1)][1:] == [
        utc(2026, 12, 8, 10, 30),
        utc(2026, 12, 9, 9, 30),
    ]


async def test_every_meeting_change_is_in_the_audit_log_with_who_made_it(bot: Harness) -> None:
    await bot.say(people.ADMIN, RULE)
    await bot.say(people.ADMIN, "/agenda add Traffic plan")
    await advance_to(bot, utc(2026, 12, 6, 6, 1))  # the day-before reminder is out
    await press(bot, people.CONSUL, reminders(bot, 1)[1], "yes")
    await bot.say(people.ADMIN, "/meeting move 2026-12-09 15:30")
    await bot.say(people.ADMIN, "/meeting cancel")

    entries = [(e.actor.split(" (")[0], e.action) for e in bot.vigil.stores.audit.entries()]
    meeting_entries = [entry for entry in entries if entry[1].startswith("meeting.")]
    assert meeting_entries == [
        ("Ayesha Malik", "meeting.rule"),
        ("Ayesha Malik", "meeting.agenda"),
        ("Jane Doe", "meeting.answer"),
        ("Ayesha Malik", "meeting.move"),
        ("Ayesha Malik", "meeting.cancel"),
    ]
