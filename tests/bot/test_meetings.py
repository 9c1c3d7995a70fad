"""The monthly meeting across a month of controlled time: rules, reminders, answers, restarts."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.meetings import Meetings
from config.meetings import MeetingRule, MeetingRuleError, parse_offsets, parse_rule
from storage.meetings import MeetingReminder
from tests.fakes import updates
from tests.support import people
from tests.support.harness import Harness, MakeBot
from tests.support.meetings import (
    RULE,
    advance_to,
    meetings,
    posted_text,
    reminders,
    start,
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("every first monday", [date(2026, 12, 7), date(2027, 1, 4), date(2027, 2, 1)]),
        ("every last thursday", [date(2026, 12, 31), date(2027, 1, 28), date(2027, 2, 25)]),
        ("every 31st", [date(2026, 12, 31), date(2027, 1, 31), date(2027, 2, 28)]),
        ("every 15", [date(2026, 12, 15), date(2027, 1, 15), date(2027, 2, 15)]),
        ("every second tuesday", [date(2026, 12, 8), date(2027, 1, 12), date(2027, 2, 9)]),
    ],
)
def test_a_rule_expands_to_one_day_a_month(rule: str, expected: list[date]) -> None:
    days = parse_rule(rule).dates_from(date(2026, 12, 4))

    assert [next(days) for _ in expected] == expected


def test_the_31st_falls_on_the_last_day_of_a_leap_february() -> None:
    assert parse_rule("every 31st").date_in(2028, 2) == date(2028, 2, 29)


def test_a_rule_keeps_its_time_and_venue() -> None:
    rule = parse_rule("every  LAST Thursday 09:30 at  Rangers HQ, Room 4")

    assert rule == MeetingRule(time(9, 30), "Rangers HQ, Room 4", ordinal=-1, weekday=3)
    assert rule.describe() == "every last Thursday at 09:30, Rangers HQ, Room 4"


@pytest.mark.parametrize(
    "rule", ["every", "every fifth monday", "every first moonday", "every 32nd", "every 0", "x"]
)
def test_an_unreadable_rule_is_refused(rule: str) -> None:
    with pytest.raises(MeetingRuleError):
        parse_rule(rule)


def test_offsets_are_read_longest_first() -> None:
    assert parse_offsets("1h, 7d,1d") == (
        timedelta(days=7),
        timedelta(days=1),
        timedelta(hours=1),
    )
    with pytest.raises(MeetingRuleError):
        parse_offsets("7 days")


async def test_a_month_of_meetings_reminders_answers_and_a_restart(make_bot: MakeBot) -> None:
    bot = await start(make_bot())
    await bot.say(people.ADMIN, RULE)
    assert bot.last_reply() == (
        "Meeting rule set: every first Monday at 11:00, Central Police Office.\n"
        "Next meeting: Monday 7 December 2026, 11:00, Central Police Office."
    )
    first = reminders(bot, 1)
    assert [(r.due_at, r.status) for r in first] == [
        (utc(2026, 11, 30, 6), "skipped"),  # set after it was due
        (utc(2026, 12, 6, 6), "pending"),
        (utc(2026, 12, 7, 5), "pending"),
    ]

    await advance_to(bot, utc(2026, 12, 6, 6))
    december = posted_text(bot, reminders(bot, 1)[1])
    assert december.startswith("📅 Security meeting in 1 day\n🕚 Monday 7 December 2026, 11:00")
    assert (
        "Not answered yet: Consulate of Denmark, Consulate of Norway, Police, Rangers, "
        "Security Cell" in december
    )

    await advance_to(bot, utc(2026, 12, 7, 7))  # the first meeting is over
    second = reminders(bot, 2)
    assert [r.due_at for r in second] == [
        utc(2026, 12, 28, 6),
        utc(2027, 1, 3, 6),
        utc(2027, 1, 4, 5),
    ]
    await bot.say(people.ADMIN, "/agenda add Traffic plan for the national day")

    await advance_to(bot, utc(2026, 12, 28, 6))
    week_before = reminders(bot, 2)[0]
    assert week_before.status == "posted" and not week_before.late
    text = posted_text(bot, week_before)
    assert "Security meeting in 7 days" in text and "1. Traffic plan for the national day" in text
    assert "5 of 5 organisations not answered yet" in text
    photo = bot.tg.messages(people.GROUP_ID)[-2]
    assert photo.kind == "photo" and photo.reply_to == week_before.message_id
    assert photo.text == "No alerts were raised in November 2026."

    await _answer(bot, people.OFFICER, week_before, "yes")
    await _answer(bot, people.OFFICER_2, week_before, "deputy")
    await _answer(bot, people.CONSUL, week_before, "no")
    text = posted_text(bot, reminders(bot, 2)[0])
    assert (
        "Attending: Police\nSending a deputy: Rangers\nCan't attend: Consulate of Norway" in text
    )

    await advance_to(bot, utc(2027, 1, 2, 12))
    await bot.stop()  # down from 2 January to 3 January, 12:00: the day-before reminder falls due

    bot.clock.current = utc(2027, 1, 3, 12)
    for _ in range(2):  # starting twice posts it once
        again = await start(make_bot())
        await again.stop()
    day_before = reminders(again, 2)[1]
    assert day_before.status == "posted" and day_before.late
    text = posted_text(again, day_before)
    assert "Not answered yet: Consulate of Denmark, Security Cell" in text
    assert "⏰ Posted late: it was due at 11:00, 3 Jan." in text
    assert text.startswith("📅 Security meeting in 18 hours")  # what was left, not 1 day

    bot = await start(make_bot())
    await advance_to(bot, utc(2027, 1, 4, 5))
    hour_before = reminders(bot, 2)[2]
    assert hour_before.status == "posted" and not hour_before.late
    await _answer(bot, people.CONSUL_2, hour_before, "yes")
    assert "Attending: Consulate of Denmark, Police" in posted_text(bot, reminders(bot, 2)[2])
    assert "Consulate of Denmark" in posted_text(bot, reminders(bot, 2)[1])  # not answered yet

    await advance_to(bot, utc(2027, 1, 4, 7))
    assert [r.due_at for r in reminders(bot, 3)] == [
        utc(2027, 1, 25, 6),
        utc(2027, 1, 31, 6),
        utc(2027, 2, 1, 5),
    ]
    await bot.stop()


async def _answer(
    bot: Harness, user: dict[str, Any], reminder: MeetingReminder, code: str
) -> None:
    assert reminder.chat_id is not None and reminder.message_id is not None
    message = bot.tg.message(reminder.chat_id, reminder.message_id)
    data = f"rsvp:{reminder.meeting_id}:{code}"
    await bot.feed(updates.callback_query(data, from_user=user, message=message))


async def test_a_reminder_due_while_down_is_skipped_once_the_meeting_has_passed(
    make_bot: MakeBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start(make_bot())
    await bot.say(people.ADMIN, RULE)
    await bot.stop()

    bot.clock.current = utc(2026, 12, 8, 9)  # down across the 7 December meeting
    with caplog.at_level(logging.WARNING, logger="bot.meetings"):
        bot = await start(make_bot())
    await bot.stop()

    assert [r.status for r in reminders(bot, 1)] == ["skipped", "skipped", "skipped"]
    assert "Reminder 3 of meeting 1 skipped: the meeting is no longer ahead" in caplog.text
    assert not [m for m in bot.replies() if "Security meeting" in m]


async def test_times_follow_daylight_saving_in_the_local_zone(make_bot: MakeBot) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    bot = await start(make_bot(timezone=berlin))
    bot.clock.current = utc(2027, 3, 1, 12)
    await bot.say(people.ADMIN, "/meeting every last sunday 10:00 at Rathaus")

    meeting = meetings(bot).upcoming()
    assert meeting is not None and meeting.starts_at == utc(2027, 3, 28, 8)  # 10:00 CEST
    dues = [r.due_at for r in reminders(bot, meeting.id or 0)]
    assert dues == [utc(2027, 3, 21, 9), utc(2027, 3, 27, 9), utc(2027, 3, 28, 7)]  # CET, CET
    await advance_to(bot, utc(2027, 3, 28, 9))
    assert meetings(bot).upcoming().starts_at == utc(2027, 4, 25, 8)  # type: ignore[union-attr]
    await bot.stop()


async def test_the_rule_can_come_from_settings(make_bot: MakeBot) -> None:
    bot = await start(make_bot(meeting_rule="every 15th 10:00 at Rangers HQ"))
    await bot.say(people.CONSUL, "/meeting")
    await bot.stop()

    assert bot.last_reply().startswith(
        "Next meeting: Tuesday 15 December 2026, 10:00, Rangers HQ."
    )
    assert isinstance(meetings(bot), Meetings)


async def test_after_a_long_outage_only_the_latest_due_reminder_is_posted(
    make_bot: MakeBot,
) -> None:
    bot = await start(make_bot())
    await bot.say(people.ADMIN, RULE)
    await bot.stop()

    bot.clock.current = utc(2026, 12, 7, 5, 30)  # the day-before and hour-before are both due
    bot = await start(make_bot())
    await meetings(bot).tick()
    await bot.stop()

    day_before, hour_before = reminders(bot, 1)[1:]
    assert day_before.status == "skipped" and day_before.note == (
        "a later reminder of the same meeting was due"
    )
    assert hour_before.status == "posted" and hour_before.late
    assert "Security meeting in 30 minutes" in posted_text(bot, hour_before)  # what was left


async def test_the_week_before_report_is_posted_once_across_a_restart(make_bot: MakeBot) -> None:
    bot = await start(make_bot())
    await bot.say(people.ADMIN, RULE)
    await advance_to(bot, utc(2026, 12, 8))
    bot.tg.fail_next("sendPhoto", status=500)
    await advance_to(bot, utc(2026, 12, 28, 6))
    await bot.stop()

    bot = await start(make_bot())
    await meetings(bot).tick()
    await bot.stop()

    week_before = reminders(bot, 2)[0]
    photos = [m for m in bot.tg.messages(people.GROUP_ID) if m.kind == "photo"]
    assert len(photos) == 1 and photos[0].message_id == week_before.report_message_id
    assert week_before.report_attempts == 2


async def test_a_reminder_telegram_refuses_is_retried_and_posted_once(make_bot: MakeBot) -> None:
    bot = await start(make_bot())
    await bot.say(people.ADMIN, RULE)
    bot.tg.fail_next("sendMessage", retry_after=30)

    await advance_to(bot, utc(2026, 12, 6, 6))
    waiting = reminders(bot, 1)[1]
    assert waiting.status == "pending" and waiting.next_attempt_at == utc(2026, 12, 6, 6, 0, 30)
    await advance_to(bot, utc(2026, 12, 6, 6, 0, 10))
    assert reminders(bot, 1)[1].status == "pending"
    await advance_to(bot, utc(2026, 12, 6, 6, 0, 30))
    await advance_to(bot, utc(2026, 12, 6, 6, 1))
    await bot.stop()

    posted = reminders(bot, 1)[1]
    assert posted.status == "posted" and not posted.late and posted.attempts == 2
    assert len([m for m in bot.replies() if "Security meeting in 1 day" in m]) == 1


async def test_the_meeting_sweep_runs_on_the_job_queue(make_bot: MakeBot) -> None:
    bot = await start(make_bot())
    await bot.stop()

    assert bot.app.job_queue is not None
    assert [job.name for job in bot.app.job_queue.jobs() if job.name == "vigil:meetings"] == [
        "vigil:meetings"
    ]


async def test_a_report_that_cannot_be_drawn_does_not_stop_the_reminder(
    make_bot: MakeBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_figures: object) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setattr("bot.report.chart_png", broken)
    bot = await start(make_bot())
    await bot.say(people.ADMIN, RULE)
    await advance_to(bot, utc(2026, 12, 8))

    with caplog.at_level(logging.ERROR, logger="bot.meetings"):
        await advance_to(bot, utc(2026, 12, 28, 6))
    await bot.stop()

    week_before = reminders(bot, 2)[0]
    assert week_before.status == "posted" and week_before.report_attempts == 1
    assert "Report for reminder 4 could not be made" in caplog.text
