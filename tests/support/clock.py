"""A clock the tests move by hand, so an hour of escalation passes in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)  # 14:00 in Karachi


class ManualClock:
    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current
