"""The group turns into a supergroup: Vigil follows it, and remembers across restarts."""

from __future__ import annotations

from tests.fakes import updates
from tests.fakes.telegram import FakeTelegram
from tests.support import people
from tests.support.harness import MakeBot

OLD_GROUP = -4012345678
NEW_GROUP = -1009876543210


async def test_a_migrated_group_keeps_working_after_a_restart(
    make_bot: MakeBot, tg: FakeTelegram
) -> None:
    bot = make_bot(group_chat_id=OLD_GROUP)
    await bot.start()
    await bot.feed(updates.migrate_to(OLD_GROUP, NEW_GROUP, people.ADMIN))
    await bot.stop()

    bot = make_bot(group_chat_id=OLD_GROUP)
    await bot.start()
    await bot.say(people.CONSUL, "/alert critical Fire", chat=updates.group(NEW_GROUP))
    await bot.stop()

    assert bot.vigil.group.id == NEW_GROUP
    assert "ALERT #1" in tg.messages(NEW_GROUP)[0].text


async def test_a_send_refused_as_migrated_follows_the_group(
    make_bot: MakeBot, tg: FakeTelegram
) -> None:
    bot = make_bot(group_chat_id=OLD_GROUP)
    await bot.start()
    await bot.say(people.CONSUL, "/alert critical Fire", chat=updates.group(OLD_GROUP))
    tg.fail_next("sendMessage", status=400, migrate_to_chat_id=NEW_GROUP)

    await bot.advance(minutes=2)
    await bot.stop()

    assert bot.vigil.group.id == NEW_GROUP
    assert tg.messages(NEW_GROUP)[0].text.startswith("📟 Alert #1: step 1")


async def test_open_alerts_get_their_card_in_the_new_group_and_can_be_acknowledged(
    make_bot: MakeBot, tg: FakeTelegram
) -> None:
    bot = make_bot(group_chat_id=OLD_GROUP)
    await bot.start()
    await bot.say(people.CONSUL, "/alert critical Fire", chat=updates.group(OLD_GROUP))

    await bot.feed(updates.migrate_to(OLD_GROUP, NEW_GROUP, people.ADMIN))
    await bot.say(people.OFFICER, "/ack 1", chat=updates.group(NEW_GROUP))
    await bot.advance(seconds=5)
    await bot.stop()

    (card,) = [m for m in tg.messages(NEW_GROUP) if "ALERT #1" in m.text]
    assert "Acknowledged by Ali Raza" in card.text
    assert bot.alert(1).card_chat_id == NEW_GROUP


async def test_a_card_edit_refused_as_migrated_posts_the_card_in_the_new_group(
    make_bot: MakeBot, tg: FakeTelegram
) -> None:
    bot = make_bot(group_chat_id=OLD_GROUP)
    await bot.start()
    await bot.say(people.CONSUL, "/alert critical Fire", chat=updates.group(OLD_GROUP))
    tg.fail_next("editMessageText", status=400, migrate_to_chat_id=NEW_GROUP)

    await bot.press(people.OFFICER, "ack:1", 1)
    await bot.stop()

    assert bot.vigil.group.id == NEW_GROUP
    assert "Acknowledged by Ali Raza" in tg.messages(NEW_GROUP)[0].text
    assert tg.callback_answers[-1]["text"].startswith("Alert #1 acknowledged")
