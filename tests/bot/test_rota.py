"""The duty rota: days, shifts across midnight, overrides, notices that survive restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.rota import around, current, day_matcher, parse_rota
from storage.audit import Actor
from storage.directory import NewNotice, Shift, ShiftRecord
from tests.fakes import updates
from tests.fakes.twilio import FakeTwilio
from tests.support import people
from tests.support.harness import Harness, MakeBot

KARACHI = ZoneInfo("Asia/Karachi")
FRIDAY = date(2026, 12, 4)  # the test clock starts on Friday 4 December, 14:00 in Karachi


@pytest.mark.parametrize(
    ("spec", "day", "matches"),
    [
        ("Mon-Fri", FRIDAY, True),
        ("Mon-Fri", date(2026, 12, 5), False),
        ("Sat,Sun", date(2026, 12, 6), True),
        ("Fri-Mon", date(2026, 12, 7), True),
        ("Fri-Mon", date(2026, 12, 8), False),
        ("2026-12-04", FRIDAY, True),
        ("2026-12-04", date(2026, 12, 11), False),
    ],
)
def test_days_are_read_as_people_write_them(spec: str, day: date, matches: bool) -> None:
    assert day_matcher(spec)(day) is matches


def test_a_night_shift_runs_past_midnight_in_local_time() -> None:
    night = Shift(member_id=1, days="Fri", start="22:00", end="06:00")
    saturday_3am = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)  # 03:00 Saturday in Karachi

    window = current(around([night], saturday_3am, KARACHI), saturday_3am)

    assert window is not None
    assert window.start == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 12, 5, 1, 0, tzinfo=UTC)


def test_bad_rota_lines_are_reported_by_line() -> None:
    lines = [
        "member,days,start,end",
        "201,Mon-Fri,08:00,16:00",
        "0300-1110001,Sat,22:00,06:00",
        "201,Funday,08:00,16:00",
        "201,Mon,25:00,06:00",
        "201,Mon,08:00,08:00",
    ]

    rota = parse_rota(lines, "PK")

    assert [line[1] for line in rota.lines] == ["201", "+923001110001"]
    assert [p.split(":")[0] for p in rota.problems] == ["line 4", "line 5", "line 6"]


def _rota(vigil: Harness, *lines: tuple[dict, str, str, str]) -> None:
    roster = vigil.vigil.stores.roster
    shifts = [
        ShiftRecord(people.member_id(roster, user), days, start, end)
        for user, days, start, end in lines
    ]
    vigil.vigil.stores.directory.replace_rota(shifts, vigil.clock.now(), Actor("test"))


def _on_duty(vigil: Harness) -> list[str]:
    return [m.name for m in vigil.vigil.stores.roster.on_duty()]


def _sms(tw: FakeTwilio | None, phone: str) -> list[str]:
    assert tw is not None
    return [sms.body for sms in tw.messages if sms.to == phone]


async def test_shifts_change_across_midnight_and_officers_are_told(vigil: Harness) -> None:
    _rota(
        vigil,
        (people.OFFICER, "Fri", "14:30", "22:00"),
        (people.OFFICER_2, "Fri", "22:00", "06:00"),
    )
    await vigil.say(people.OFFICER_2, "/help", chat=updates.private_chat(people.OFFICER_2))

    await vigil.advance(minutes=30)  # 14:30
    assert _on_duty(vigil) == ["Ali Raza"]
    (notice,) = _sms(vigil.tw, people.PHONES[201])  # Ali never opened a private chat
    assert notice.endswith("You are on duty until 22:00.")

    await vigil.advance(hours=7, minutes=30)  # 22:00
    assert _on_duty(vigil) == ["Sara Khan"]
    told = vigil.tg.last_message(people.OFFICER_2["id"])
    assert told is not None and "Sara Khan, your duty shift has started" in told.text
    assert "until 06:00" in told.text and _sms(vigil.tw, people.PHONES[202]) == []

    await vigil.advance(hours=4)  # 02:00 on Saturday: still Sara
    assert _on_duty(vigil) == ["Sara Khan"]

    await vigil.advance(hours=4)  # 06:00 on Saturday
    assert _on_duty(vigil) == []
    assert vigil.tg.last_message(people.ADMIN["id"]).text.startswith("⚠️ Vigil: nobody is on duty")


async def test_a_restart_neither_loses_nor_repeats_a_notice(
    make_bot: MakeBot, tw: FakeTwilio
) -> None:
    bot = make_bot()
    await bot.start()
    _rota(bot, (people.OFFICER, "Fri", "14:30", "22:00"))
    await bot.advance(minutes=31)
    await bot.stop()

    again = make_bot()
    await again.start()
    await again.advance(minutes=1)
    await again.stop()

    assert len(_sms(tw, people.PHONES[201])) == 1


async def test_nobody_on_duty_tells_the_admins_once_and_escalation_skips_ahead(
    vigil: Harness,
) -> None:
    await vigil.say(people.OFFICER, "/offduty")
    await vigil.advance(seconds=2)
    await vigil.advance(seconds=2)

    admin_chat = vigil.tg.messages(people.ADMIN["id"])
    assert [m.text[:30] for m in admin_chat] == ["⚠️ Vigil: nobody is on duty no"]

    await vigil.say(people.CONSUL, "/alert critical Fire")
    await vigil.advance(minutes=2)
    assert any("Nobody is on duty: going straight to the next tier" in r for r in vigil.replies())
    assert people.PHONES[301] in [sms.to for sms in vigil.tw.messages]  # the supervisor


async def test_offduty_beats_the_rota_until_the_shift_ends(vigil: Harness) -> None:
    _rota(
        vigil, (people.OFFICER, "Fri", "13:00", "15:00"), (people.OFFICER, "Fri", "16:00", "18:00")
    )
    await vigil.advance(seconds=1)
    assert _on_duty(vigil) == ["Ali Raza"]

    await vigil.say(people.OFFICER, "/offduty")
    await vigil.advance(minutes=30)
    assert _on_duty(vigil) == []

    await vigil.advance(hours=1, minutes=30)  # 16:00: the next shift puts him back on
    assert _on_duty(vigil) == ["Ali Raza"]


async def test_onduty_beats_the_rota_until_the_next_shift_boundary(vigil: Harness) -> None:
    _rota(vigil, (people.OFFICER_2, "Fri", "16:00", "18:00"))
    await vigil.say(people.OFFICER_2, "/onduty")
    await vigil.advance(hours=1)
    assert "Sara Khan" in _on_duty(vigil)

    await vigil.advance(hours=3)  # 18:00: her shift, and so the override, is over
    assert "Sara Khan" not in _on_duty(vigil)


async def test_oncall_shows_who_is_on_now_and_who_comes_next(vigil: Harness) -> None:
    _rota(
        vigil,
        (people.OFFICER, "Mon-Fri", "08:00", "16:00"),
        (people.OFFICER_2, "Fri", "16:00", "23:00"),
    )
    await vigil.advance(seconds=1)

    await vigil.say(people.CONSUL, "/oncall")

    text = vigil.last_reply()
    assert "Ali Raza (officer, Police)" in text
    assert "Next shift, from 16:00, 4 Dec: Sara Khan" in text


async def test_the_group_hears_of_shift_changes_only_when_asked(make_bot: MakeBot) -> None:
    quiet = make_bot()
    await quiet.start()
    _rota(quiet, (people.OFFICER_2, "Fri", "14:30", "22:00"))
    await quiet.advance(minutes=30)
    assert not any(r.startswith("🔄") for r in quiet.replies())
    await quiet.stop()

    loud = make_bot(announce_shifts=True)
    await loud.start()
    _rota(loud, (people.OFFICER, "Fri", "15:00", "22:00"))
    await loud.advance(minutes=30)
    await loud.stop()

    assert "🔄 Shift change: now on duty: Ali Raza." in loud.replies()


async def test_two_senders_at_once_send_a_notice_once(vigil: Harness) -> None:
    directory = vigil.vigil.stores.directory
    admin = people.member_id(vigil.vigil.stores.roster, people.ADMIN)
    notice = NewNotice("test", admin, vigil.clock.now(), "Only once", "private")
    directory.add_notices([notice], None, vigil.clock.now())

    await asyncio.gather(vigil.vigil.rota.deliver(), vigil.vigil.rota.deliver())

    assert [m.text for m in vigil.tg.messages(people.ADMIN["id"])] == ["Only once"]
    (row,) = directory.notices()
    assert (row.status, row.channel, row.attempts) == ("sent", "private", 1)


async def test_shift_times_are_read_in_the_configured_timezone(make_bot: MakeBot) -> None:
    bot = make_bot(timezone=ZoneInfo("Europe/Oslo"))  # 10:00 in Oslo at the start
    await bot.start()
    _rota(bot, (people.OFFICER_2, "Fri", "23:00", "07:00"))

    await bot.advance(hours=12, minutes=59)  # 22:59 in Oslo
    assert "Sara Khan" not in _on_duty(bot)
    await bot.advance(minutes=1)  # 23:00 in Oslo, 22:00 UTC
    assert "Sara Khan" in _on_duty(bot)
    await bot.advance(hours=8)  # 07:00 on Saturday in Oslo
    await bot.stop()

    assert "Sara Khan" not in _on_duty(bot)
    (sms,) = _sms(bot.tw, people.PHONES[202])
    assert sms.endswith("until 07:00.")
