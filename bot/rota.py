"""The duty rota: who is on duty at any hour, overrides, and the notices at each change.

The rota lines are rows; who is on duty is derived from them and the clock by the sweep, so
a restart neither loses nor repeats a notice: each notice is a row written once, keyed by
the shift's start, and sent until it has gone.
"""

from __future__ import annotations

import asyncio
import csv
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram.error import Forbidden, TelegramError

from bot import render
from bot.phones import PhoneError, mask, normalise
from bot.roster_file import RosterFileError, read_csv
from bot.sms import PermanentSmsError, TransientSmsError
from storage.audit import Actor
from storage.directory import DutyOverride, NewNotice, Shift, ShiftNotice
from storage.models import Delivery, Member

if TYPE_CHECKING:
    from bot.service import Vigil

logger = logging.getLogger(__name__)

HEADER = ["member", "days", "start", "end"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LOOK_AHEAD_DAYS = 8
NOTICE_RETRY = timedelta(seconds=30)

ON_DUTY_NOTICE = "🟢 Vigil: {name}, your duty shift has started. You are on duty until {end}."
NOBODY_NOTICE = (
    "⚠️ Vigil: nobody is on duty now. Escalation goes straight to the supervisors "
    "until someone is on duty (/onduty) or the rota puts someone on."
)
GROUP_SHIFT_LINE = "🔄 Shift change: now on duty: {names}."


class RotaFileError(RosterFileError):
    """The rota file as a whole cannot be read (missing, wrong header)."""


@dataclass(frozen=True)
class Window:
    member_id: int
    start: datetime
    end: datetime


@dataclass
class RotaFile:
    lines: list[tuple[int, str, str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def day_matcher(spec: str) -> Callable[[date], bool]:
    """`Mon-Fri`, `Sat,Sun`, `Fri-Mon` or `2026-12-25` → a test for a local date."""
    text = spec.strip()
    try:
        single = date.fromisoformat(text)
        return lambda day: day == single
    except ValueError:
        pass
    weekdays: set[int] = set()
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        start, end = _weekday(first), _weekday(last or first)
        weekdays.update((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    return lambda day: day.weekday() in weekdays


def _weekday(name: str) -> int:
    key = name.strip()[:3]
    if key not in DAYS:
        raise ValueError(f"days must be like Mon-Fri, Sat,Sun or 2026-12-25, not {name!r}")
    return DAYS.index(key)


def parse_time(text: str) -> time:
    """`06:00` or `6:00` → a local time of day."""
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"times are written HH:MM, not {text!r}")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError(f"{text!r} is not a time of day")
    return time(int(hours), int(minutes))


def windows(shift: Shift, first: date, days: int, zone: ZoneInfo) -> list[Window]:
    """The shift's spans starting on each of `days` local dates from `first`, in UTC."""
    matches = day_matcher(shift.days)
    start, end = parse_time(shift.start), parse_time(shift.end)
    found = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        if not matches(day):
            continue
        end_day = day if end > start else day + timedelta(days=1)  # crosses midnight
        begins = datetime.combine(day, start, zone).astimezone(UTC)
        ends = datetime.combine(end_day, end, zone).astimezone(UTC)
        found.append(Window(shift.member_id, begins, ends))
    return found


def around(shifts: Iterable[Shift], now: datetime, zone: ZoneInfo) -> list[Window]:
    """Every window from yesterday (a night shift still running) to a week ahead."""
    yesterday = now.astimezone(zone).date() - timedelta(days=1)
    spans = [w for s in shifts for w in windows(s, yesterday, LOOK_AHEAD_DAYS + 1, zone)]
    return sorted(spans, key=lambda w: w.start)


def current(spans: list[Window], now: datetime) -> Window | None:
    running = [w for w in spans if w.start <= now < w.end]
    return max(running, key=lambda w: w.end) if running else None


def next_boundary(spans: list[Window], now: datetime) -> datetime | None:
    """When the rota next changes for these windows: a start or an end after now."""
    later = [moment for w in spans for moment in (w.start, w.end) if moment > now]
    return min(later, default=None)


def read_rota(path: Path, region: str) -> RotaFile:
    return read_csv(path, lambda lines: parse_rota(lines, region))


def parse_rota(lines: Iterable[str], region: str) -> RotaFile:
    """Check each line; the member stays a key (phone in E.164, or a Telegram id)."""
    reader = csv.reader(lines)
    header = [cell.strip().lower() for cell in next(reader, [])]
    if header != HEADER:
        raise RotaFileError(f"the first line must be: {','.join(HEADER)}")
    result = RotaFile()
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        try:
            result.lines.append((reader.line_num, *_rota_line(row, region)))
        except ValueError as error:
            result.problems.append(f"line {reader.line_num}: {error}")
    return result


def _rota_line(row: list[str], region: str) -> tuple[str, str, str, str]:
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} columns, found {len(row)}")
    who, days, start, end = (cell.strip() for cell in row)
    day_matcher(days)
    if parse_time(start) == parse_time(end):
        raise ValueError("a shift must end at another time than it starts")
    if who.isdigit() and not who.startswith("0"):
        return who, days, start, end
    try:
        return normalise(who, region), days, start, end
    except PhoneError as error:
        raise ValueError(f"member must be a phone number or a Telegram id: {error}") from None


class Rota:
    """Derives who is on duty from the rota and the clock, and tells people when it changes."""

    def __init__(self, vigil: Vigil) -> None:
        self.vigil = vigil
        self.directory = vigil.stores.directory
        self.zone = vigil.settings.timezone

    async def sweep(self) -> None:
        """Put people on and off duty as their shifts start and end; send due notices."""
        await asyncio.to_thread(self._reconcile, self.vigil.clock.now())
        await self.deliver()

    def _reconcile(self, now: datetime) -> None:
        """Bring each member's duty in line with the rota; write the notices that follow."""
        shifts: defaultdict[int, list[Shift]] = defaultdict(list)
        for shift in self.directory.shifts():
            shifts[shift.member_id].append(shift)
        overrides = self.directory.overrides()
        members = self.directory.duty_members()
        starting = [
            notice
            for member in members
            if (notice := self._follow(member, shifts[member.id or 0], overrides, now))
        ]

        names = {m.id: m.name for m in members}

        def group_line(added: list[NewNotice]) -> str:
            people = ", ".join(render.escape(names[n.member_id]) for n in added)
            return GROUP_SHIFT_LINE.format(names=people)

        announce = group_line if self.vigil.settings.announce_shifts else None
        self.directory.add_notices(starting, announce, now)
        self._check_nobody(now)

    def _follow(
        self,
        member: Member,
        shifts: list[Shift],
        overrides: dict[int, DutyOverride],
        now: datetime,
    ) -> NewNotice | None:
        """Put one member on or off duty as the rota says; the notice if their shift started."""
        assert member.id is not None
        override = overrides.get(member.id)
        if override is not None and override.until is not None and override.until <= now:
            self.directory.drop_override(member.id)
            override = None
        if override is None and not shifts:
            return None  # no rota line: duty is only what they said with /onduty
        window = current(around(shifts, now, self.zone), now)
        on = override.on_duty if override is not None else window is not None
        if on != member.on_duty:
            self.directory.set_duty(member, on, None, now, None)
            logger.info("Member %s is now %s duty", member.id, "on" if on else "off")
        if not on or window is None or override is not None:
            return None
        text = ON_DUTY_NOTICE.format(
            name=member.name, end=render.local_time(window.end, self.zone)
        )
        return NewNotice("on_duty", member.id, window.start, text)

    def _check_nobody(self, now: datetime) -> None:
        """When nobody is left on duty, tell the admins, once."""
        nobody = not self.vigil.stores.roster.on_duty()
        admins = self.directory.admins()
        told = [NewNotice("nobody", a.id or 0, now, NOBODY_NOTICE) for a in admins]
        if self.directory.nobody_on_duty(nobody, told, now):
            logger.warning("Nobody is on duty; the admins are being told")

    async def set_duty(self, member: Member, on: bool) -> bool:
        """/onduty or /offduty: beats the rota until the member's shift next starts or ends."""
        now = self.vigil.clock.now()
        mine = [
            s for s in await asyncio.to_thread(self.directory.shifts) if s.member_id == member.id
        ]
        until = next_boundary(around(mine, now, self.zone), now)
        changed = await asyncio.to_thread(
            self.directory.set_duty, member, on, until, now, Actor.of(member)
        )
        await self.sweep()
        return changed

    async def coming_next(self) -> tuple[datetime, list[Member]] | None:
        """The next shift start after now, and who starts then."""
        now = self.vigil.clock.now()
        shifts = await asyncio.to_thread(self.directory.shifts)
        starts = [w for w in around(shifts, now, self.zone) if w.start > now]
        if not starts:
            return None
        first = starts[0].start
        ids = {w.member_id for w in starts if w.start == first}
        members = await asyncio.to_thread(self.directory.duty_members)
        return first, [m for m in members if m.id in ids]

    async def deliver(self) -> None:
        """Send each due notice: in a private chat if they opened one, else by SMS."""
        now = self.vigil.clock.now()
        for notice, member in await asyncio.to_thread(self.directory.claim_notices, now):
            status, channel = await self._send(notice, member)
            retry = now + NOTICE_RETRY if status == Delivery.PENDING else None
            assert notice.id is not None
            await asyncio.to_thread(
                self.directory.record_notice,
                notice.id,
                status,
                channel or notice.channel,
                now,
                retry,
            )

    async def _send(self, notice: ShiftNotice, member: Member) -> tuple[str, str | None]:
        user_id = member.telegram_user_id
        if notice.channel == "sms":
            return await self._sms(notice, member)
        opened = user_id and await asyncio.to_thread(self.directory.has_private_chat, user_id)
        usable = member.phone and self.vigil.sms is not None and notice.channel != "private"
        if (not opened and usable) or not user_id:
            return await self._sms(notice, member)
        try:
            await self.vigil.bot.send_message(user_id, notice.text)
            return Delivery.SENT, "private"
        except Forbidden:
            logger.warning("Member %s has not opened or has blocked the bot", member.id)
            if notice.channel == "private":
                return Delivery.FAILED, "private"
            return await self._sms(notice, member)
        except TelegramError as error:
            logger.warning("Notice %s not sent (%s); retrying", notice.id, error)
            return Delivery.PENDING, None

    async def _sms(self, notice: ShiftNotice, member: Member) -> tuple[str, str | None]:
        if self.vigil.sms is None or not member.phone:
            logger.warning("Notice %s: member %s has no way to be reached", notice.id, member.id)
            return Delivery.FAILED, None
        try:
            await self.vigil.sms.send(member.phone, notice.text)
        except PermanentSmsError as error:
            logger.warning("Notice SMS to %s failed: %s", mask(member.phone), error.code)
            return Delivery.FAILED, "sms"
        except TransientSmsError:
            return Delivery.PENDING, "sms"
        return Delivery.SENT, "sms"
