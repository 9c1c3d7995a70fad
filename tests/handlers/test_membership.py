"""The group turns into a supergroup: Vigil follows it, and remembers across restarts."""

from __future__ import annotations

from sqlalchemy import Engine

from storage.roster import RosterStore
from tests.fakes import updates
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.support import people
from tests.support.clock import ManualClock
from tests.support.harness import build, make_settings

OLD_GROUP = -4012345678
NEW_GROUP = -1009876543210


async def _bot(url: str, engine: Engine, clock: ManualClock, tg: FakeTelegram, tw: FakeTwilio):  # type: ignore[no-untyped-def]
    settings = make_settings(url, tg, tw)
    harness = build(settings, engine, clock, tg, tw, group_chat_id=OLD_GROUP)
    await harness.start()
    return harness


async def test_a_migrated_group_keeps_working_after_a_restart(
    sqlite_url: str,
    sqlite_engine: Engine,
    clock: ManualClock,
    tg: FakeTelegram,
    tw: FakeTwilio,
) -> None:
    people.seed(RosterStore(sqlite_engine), clock.now())
    bot = await _bot(sqlite_url, sqlite_engine, clock, tg, tw)
    await bot.feed(updates.migrate_to(OLD_GROUP, NEW_GROUP, people.ADMIN))
    await bot.stop()

    bot = await _bot(sqlite_url, sqlite_engine, clock, tg, tw)
    await bot.say(people.CONSUL, "/alert critical Fire", chat=updates.group(NEW_GROUP))
    await bot.stop()

    assert bot.vigil.group.id == NEW_GROUP
    assert "ALERT #1" in tg.messages(NEW_GROUP)[0].text


async def test_a_send_refused_as_migrated_follows_the_group(
    sqlite_url: str,
    sqlite_engine: Engine,
    clock: ManualClock,
    tg: FakeTelegram,
    tw: FakeTwilio,
) -> None:
    people.seed(RosterStore(sqlite_engine), clock.now())
    bot = await _bot(sqlite_url, sqlite_engine, clock, tg, tw)
    await bot.say(people.CONSUL, "/alert critical Fire", chat=updates.group(OLD_GROUP))
    tg.fail_next("sendMessage", status=400, migrate_to_chat_id=NEW_GROUP)

    await bot.advance(minutes=2)
    await bot.stop()

    assert bot.vigil.group.id == NEW_GROUP
    assert tg.messages(NEW_GROUP)[0].text.startswith("📟 Alert #1: step 1")
