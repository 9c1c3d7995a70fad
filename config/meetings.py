"""The monthly meeting's rule (`every first monday 11:00 at …`) and its reminder offsets."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
DEFAULT_TIME = time(11, 0)
DEFAULT_VENUE = "venue to be announced"
DEFAULT_OFFSETS = (timedelta(days=7), timedelta(days=1), timedelta(hours=1))

_RULE = re.compile(
    r"^every\s+(?:(?P<ordinal>first|second|third|fourth|last)\s+(?P<weekday>[a-z]+)"
    r"|(?P<day>\d{1,2})(?:st|nd|rd|th)?)"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2}))?"
    r"(?:\s+at\s+(?P<venue>\S.*))?$",
    re.IGNORECASE | re.DOTALL,
)
_OFFSET = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


class MeetingRuleError(ValueError):
    """The rule or the offsets could not be read; the message says what is expected."""


@dataclass(frozen=True)
class MeetingRule:
    """Which day of each month the meeting falls on, at what local time, and where."""

    at: time
    venue: str
    ordinal: int | None = None  # 1..4, or -1 for the last; with `weekday`
    weekday: int | None = None  # 0 is Monday
    day: int | None = None  # 1..31; a short month uses its last day

    def date_in(self, year: int, month: int) -> date:
        """The meeting's day in one month."""
        days = calendar.monthrange(year, month)[1]
        if self.day is not None:
            return date(year, month, min(self.day, days))
        assert self.ordinal is not None and self.weekday is not None
        if self.ordinal == -1:
            last = date(year, month, days)
            return last - timedelta(days=(last.weekday() - self.weekday) % 7)
        first = date(year, month, 1)
        shift = (self.weekday - first.weekday()) % 7
        return first + timedelta(days=shift + 7 * (self.ordinal - 1))

    def dates_from(self, start: date) -> Iterator[date]:
        """Every meeting day on or after `start`, in order, without end."""
        year, month = start.year, start.month
        while True:
            day = self.date_in(year, month)
            if day >= start:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def describe(self) -> str:
        """`every first Monday at 11:00, Central Police Office`."""
        if self.day is not None:
            when = f"every {_ordinal_suffix(self.day)}"
        else:
            assert self.weekday is not None
            name = next(word for word, value in ORDINALS.items() if value == self.ordinal)
            when = f"every {name} {WEEKDAYS[self.weekday].capitalize()}"
        return f"{when} at {self.at:%H:%M}, {self.venue}"


def _ordinal_suffix(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def parse_rule(text: str) -> MeetingRule:
    """Read `every first monday 11:00 at …`, `every last thursday`, `every 15th 10:30`."""
    match = _RULE.match(" ".join(text.split()))
    if match is None:
        raise MeetingRuleError("expected e.g. every first monday 11:00 at Central Police Office")
    hour, minute = int(match["hour"] or DEFAULT_TIME.hour), int(match["minute"] or 0)
    if hour > 23 or minute > 59:
        raise MeetingRuleError("the time must be HH:MM, from 00:00 to 23:59")
    venue = (match["venue"] or DEFAULT_VENUE).strip()
    if match["day"] is not None:
        day = int(match["day"])
        if not 1 <= day <= 31:
            raise MeetingRuleError("the day of the month must be from 1 to 31")
        return MeetingRule(time(hour, minute), venue, day=day)
    weekday = match["weekday"].lower()
    if weekday not in WEEKDAYS:
        raise MeetingRuleError("the weekday must be a full English name, e.g. monday")
    ordinal = ORDINALS[match["ordinal"].lower()]
    return MeetingRule(time(hour, minute), venue, ordinal, WEEKDAYS.index(weekday))


def parse_offsets(text: str) -> tuple[timedelta, ...]:
    """`7d,1d,1h` → the reminder offsets, longest first; each is `Nd`, `Nh`, `Nm` or a mix."""
    offsets = set()
    for part in text.split(","):
        match = _OFFSET.match(part.strip().lower())
        if not part.strip() or match is None:
            raise MeetingRuleError("expected offsets such as 7d,1d,1h")
        days, hours, minutes = (int(value or 0) for value in match.groups())
        offset = timedelta(days=days, hours=hours, minutes=minutes)
        if offset <= timedelta(0):
            raise MeetingRuleError("every offset must be longer than zero")
        offsets.add(offset)
    return tuple(sorted(offsets, reverse=True))


def format_offset(offset: timedelta) -> str:
    """`7 days`, `1 day`, `1 hour`, `30 minutes`, `1 day 6 hours`."""
    minutes = int(offset.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{value} {unit}{'' if value == 1 else 's'}"
        for value, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if value
    ]
    return " ".join(parts)
