"""Telegram's limits: alert cards and lines go ahead of chatter, and a 429 closes the chat."""

from __future__ import annotations

import asyncio

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import URGENT, PriorityRateLimiter, SlidingWindow
from tests.fakes.telegram import FakeTelegram
from tests.support import people
from tests.support.harness import MakeBot

SHORT = 0.3  # seconds in a test window; order is asserted, never durations


async def test_an_urgent_waiter_is_served_before_earlier_chatter() -> None:
    window = SlidingWindow(limit=1, period=SHORT)
    served: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await window.acquire(urgent)
        served.append(name)

    await take("first", urgent=False)
    chatter = asyncio.create_task(take("chatter", urgent=False))
    await asyncio.sleep(0)
    card = asyncio.create_task(take("card", urgent=True))
    await asyncio.gather(chatter, card)

    assert served == ["first", "card", "chatter"]


async def test_a_cancelled_waiter_gives_its_place_up() -> None:
    window = SlidingWindow(limit=1, period=SHORT)
    await window.acquire(False)
    gone = asyncio.create_task(window.acquire(False))
    await asyncio.sleep(0)
    gone.cancel()

    await asyncio.wait_for(window.acquire(False), timeout=5)

    assert gone.cancelled()


async def test_cards_overtake_status_replies_waiting_for_the_group_limit(
    make_bot: MakeBot, tg: FakeTelegram
) -> None:
    bot = make_bot(rate_limiter=PriorityRateLimiter(group_per_minute=1, group_period=SHORT))
    await bot.start()
    await bot.say(people.CONSUL_2, "/status")  # takes the group's only slot

    await asyncio.gather(
        bot.say(people.OFFICER, "/help"),
        bot.say(people.CONSUL, "/alert critical Fire in the visa hall"),
    )
    await bot.stop()

    sent = [call.params["text"] for call in tg.calls_to("sendMessage")]
    assert sent[0].startswith("✅ No open alerts")
    assert "ALERT #1" in sent[1] and sent[2].startswith("I am Vigil")


async def test_status_asked_again_while_a_list_waits_gets_one_list(
    make_bot: MakeBot, tg: FakeTelegram
) -> None:
    bot = make_bot(rate_limiter=PriorityRateLimiter(group_per_minute=1, group_period=SHORT))
    await bot.start()
    await bot.say(people.CONSUL, "/alert high Crowd at the gate")

    await asyncio.gather(
        *(bot.say(user, "/status") for user in (people.CONSUL, people.OFFICER, people.SUPERVISOR))
    )
    await bot.stop()

    lists = [c for c in tg.calls_to("sendMessage") if "Open alerts" in c.params["text"]]
    assert len(lists) == 1


async def test_after_a_429_urgent_sends_fail_fast_and_chatter_waits_its_turn() -> None:
    limiter = PriorityRateLimiter()
    calls: list[str] = []

    async def telegram(name: str) -> str:
        calls.append(name)
        if name == "refused":
            raise RetryAfter(1)
        return name

    async def send(name: str, urgent: bool) -> str:
        data = {"chat_id": people.GROUP_ID}
        return await limiter.process_request(
            telegram, (name,), {}, "sendMessage", data, URGENT if urgent else None
        )

    with pytest.raises(RetryAfter):
        await send("refused", urgent=True)
    with pytest.raises(RetryAfter):
        await send("card", urgent=True)
    reply = await send("reply", urgent=False)

    assert calls == ["refused", "reply"] and reply == "reply"
