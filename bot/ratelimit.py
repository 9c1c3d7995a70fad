"""Telegram's send limits, kept with alert traffic ahead of chatter.

Telegram allows about 20 messages a minute in one group and about 30 a second in all. Cards
and escalation lines are marked urgent (`rate_limit_args=URGENT`): when the group's budget
is spent they take the next free slot before any waiting reply to /status or /help. A 429
closes the chat until Telegram's `retry_after` has passed; urgent senders get the error back
and record their own retry time, chatter waits and tries once more.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

URGENT = "urgent"
_LIMITED_PREFIXES = ("send", "edit", "copy", "forward")


class SlidingWindow:
    """At most `limit` grants in any `period` seconds; urgent waiters are served first."""

    def __init__(self, limit: int, period: float) -> None:
        self.limit = limit
        self.period = period
        self.granted: deque[float] = deque()
        self.closed_until = 0.0
        self.waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self.order = itertools.count()
        self.timer: asyncio.TimerHandle | None = None

    async def acquire(self, urgent: bool) -> None:
        """Wait for a slot."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self.waiters, (0 if urgent else 1, next(self.order), future))
        self._grant()
        await future

    def closed_for(self) -> float:
        """Seconds until Telegram's last 429 for this window has passed (0 when open)."""
        return max(self.closed_until - asyncio.get_running_loop().time(), 0.0)

    def close_for(self, seconds: float) -> None:
        """Grant nothing for `seconds` (Telegram said 429)."""
        loop = asyncio.get_running_loop()
        self.closed_until = max(self.closed_until, loop.time() + seconds)

    def _grant(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self.granted and self.granted[0] <= now - self.period:
            self.granted.popleft()
        while self.waiters and now >= self.closed_until and len(self.granted) < self.limit:
            _, _, future = heapq.heappop(self.waiters)
            if not future.done():  # a cancelled waiter gives its place up
                self.granted.append(now)
                future.set_result(None)
        if self.waiters and self.timer is None:
            next_free = self.granted[0] + self.period if len(self.granted) >= self.limit else now
            wake = max(next_free, self.closed_until)
            self.timer = loop.call_later(max(wake - now, 0.001), self._wake)

    def _wake(self) -> None:
        self.timer = None
        self._grant()


class PriorityRateLimiter(BaseRateLimiter[str]):
    """python-telegram-bot's rate limiter hook, with per-group and overall windows."""

    def __init__(
        self,
        group_per_minute: int = 20,
        overall_per_second: int = 30,
        group_period: float = 60.0,
        close_on_429: bool = True,
    ) -> None:
        self.close_on_429 = close_on_429
        self.group_per_minute = group_per_minute
        self.group_period = group_period
        self.overall = SlidingWindow(overall_per_second, 1.0)
        self.groups: dict[int, SlidingWindow] = {}

    @classmethod
    def off(cls) -> PriorityRateLimiter:
        """A limiter that never holds anything back (tests, whose clock is not the loop's)."""
        return cls(group_per_minute=10**9, overall_per_second=10**9, close_on_429=False)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Any:
        chat_id = _chat_id(data)
        if chat_id is None or not endpoint.startswith(_LIMITED_PREFIXES):
            return await callback(*args, **kwargs)
        urgent = rate_limit_args == URGENT
        group = self._group(chat_id)
        for attempt in range(2):
            if group is not None:
                if urgent and group.closed_for() > 0:
                    # Fail fast: the card or line records its retry time and nothing else waits.
                    raise RetryAfter(math.ceil(group.closed_for()))
                await group.acquire(urgent)
            await self.overall.acquire(urgent)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                wait = _seconds(error.retry_after)
                if self.close_on_429:
                    (group or self.overall).close_for(wait)
                if urgent or attempt == 1:
                    raise
                logger.warning("Telegram asked to wait %.0f s before %s", wait, endpoint)
        raise AssertionError("unreachable")  # pragma: no cover

    def _group(self, chat_id: int) -> SlidingWindow | None:
        if chat_id >= 0:
            return None
        if chat_id not in self.groups:
            self.groups[chat_id] = SlidingWindow(self.group_per_minute, self.group_period)
        return self.groups[chat_id]


def _chat_id(data: dict[str, Any]) -> int | None:
    with contextlib.suppress(KeyError, TypeError, ValueError):
        return int(data["chat_id"])
    return None


def _seconds(wait: float | timedelta) -> float:
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
