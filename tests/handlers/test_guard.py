"""The group stays safe: foreign groups, anonymous senders, people leaving, the bot removed."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Alert
from storage.roster import MemberRecord
from tests.fakes import updates
from tests.support import directory, people
from tests.support.harness import Harness, MakeBot

FOREIGN = updates.group(-1009999999999, "Somebody else's group")


def _admin_heard(vigil: Harness) -> list[str]:
    return [m.text for m in vigil.tg.messages(people.ADMIN["id"])]


def _alerts(vigil: Harness) -> list[Alert]:
    with Session(vigil.engine) as session:
        return list(session.exec(select(Alert)))


async def test_added_to_another_group_it_says_so_and_leaves(vigil: Harness) -> None:
    await vigil.feed(updates.my_chat_member(FOREIGN, from_user=people.OUTSIDER))

    (said,) = vigil.tg.messages(FOREIGN["id"])
    assert said.text.startswith("I work only in the coordination group")
    assert [c.params["chat_id"] for c in vigil.tg.calls_to("leaveChat")] == [FOREIGN["id"]]


async def test_a_command_in_another_group_raises_nothing(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert critical Fire", chat=FOREIGN)

    assert _alerts(vigil) == []
    assert vigil.tg.calls_to("leaveChat")


async def test_an_anonymous_admin_is_asked_to_post_as_themselves(vigil: Harness) -> None:
    group = updates.group(vigil.vigil.group.id)
    update = updates.command(
        "/alert critical Fire", from_user=directory.GROUP_ANONYMOUS_BOT, chat=group
    )

    await vigil.feed(directory.on_behalf_of(update, group))

    assert vigil.last_reply().startswith("I can't tell who sent this")
    assert _alerts(vigil) == []


async def test_a_post_on_behalf_of_a_channel_stores_nothing(vigil: Harness) -> None:
    channel = {"id": -1005550001111, "title": "News", "type": "channel"}
    update = updates.command(
        "/ack 1", from_user=directory.CHANNEL_BOT, chat=updates.group(vigil.vigil.group.id)
    )

    await vigil.feed(directory.on_behalf_of(update, channel))

    assert vigil.last_reply().startswith("I can't tell who sent this")
    assert vigil.vigil.stores.audit.entries() == []


async def test_a_member_who_leaves_the_group_is_reported_to_the_admins(vigil: Harness) -> None:
    group = updates.group(vigil.vigil.group.id)

    await vigil.feed(directory.chat_member(group, people.OFFICER, by=people.OFFICER))

    assert _admin_heard(vigil) == [
        "🚪 Ali Raza (Police, on the roster as officer) has left the coordination group."
    ]


async def test_a_member_removed_from_the_group_is_reported_to_the_admins(vigil: Harness) -> None:
    group = updates.group(vigil.vigil.group.id)
    update = directory.chat_member(group, people.CONSUL, by=people.ADMIN, new_status="kicked")

    await vigil.feed(update)

    assert _admin_heard(vigil) == [
        "🚪 Jane Doe (Consulate of Norway, consulate) was removed from the coordination group."
    ]


async def test_someone_off_the_roster_leaving_is_not_reported(vigil: Harness) -> None:
    group = updates.group(vigil.vigil.group.id)

    await vigil.feed(directory.chat_member(group, people.OUTSIDER, by=people.OUTSIDER))

    assert _admin_heard(vigil) == []


async def test_removed_from_the_group_admins_hear_privately_and_sms_goes_on(
    vigil: Harness,
) -> None:
    vigil.vigil.stores.roster.upsert(
        MemberRecord("Ayesha Malik", "admin", "Security Cell", "+923001110009", 501, None),
        vigil.clock.now(),
    )
    await vigil.say(people.CONSUL, "/alert critical Suspicious vehicle")
    group = updates.group(vigil.vigil.group.id)

    await vigil.feed(directory.bot_removed(group, by=people.OUTSIDER))
    await vigil.advance(minutes=2)

    assert _admin_heard(vigil)[0].startswith("🚨 Vigil was removed from the coordination group")
    to = [sms.to for sms in vigil.tw.messages]
    assert "+923001110009" in to  # the admin, by SMS
    assert people.PHONES[201] in to  # escalation goes on
    assert vigil.tg.calls_to("leaveChat") == []


async def test_muted_in_the_group_the_admins_are_told(vigil: Harness) -> None:
    group = updates.group(vigil.vigil.group.id)

    await vigil.feed(directory.bot_muted(group, by=people.OUTSIDER))

    assert _admin_heard(vigil)[0].startswith("🚨 Vigil can no longer post")


async def test_alert_cards_cannot_be_forwarded_unless_a_setting_allows(
    make_bot: MakeBot,
) -> None:
    bot = make_bot()
    await bot.start()
    await bot.say(people.CONSUL, "/alert critical Fire")
    await bot.stop()
    open_bot = make_bot(protect_content=False)
    await open_bot.start()
    await open_bot.say(people.CONSUL, "/alert critical Smoke")
    await open_bot.stop()

    cards = [c.params for c in bot.tg.calls_to("sendMessage") if "ALERT #" in c.params["text"]]
    assert [c.get("protect_content", False) for c in cards] == [True, False]


async def test_the_group_becoming_a_supergroup_is_not_a_foreign_group(vigil: Harness) -> None:
    new_id = -1009876543210

    await vigil.feed(updates.migrate_from(new_id, vigil.vigil.group.id, people.ADMIN))

    assert vigil.tg.calls_to("leaveChat") == []
    assert vigil.vigil.group.id == new_id


async def test_a_redelivered_update_tells_the_admins_only_once(vigil: Harness) -> None:
    group = updates.group(vigil.vigil.group.id)
    left = directory.chat_member(group, people.OFFICER, by=people.OFFICER)

    await vigil.feed(left)
    await vigil.feed(left)

    assert len(_admin_heard(vigil)) == 1


async def test_news_telegram_refused_is_sent_by_a_later_sweep(vigil: Harness) -> None:
    group = updates.group(vigil.vigil.group.id)
    vigil.tg.fail_next("sendMessage", chat_id=people.ADMIN["id"])

    await vigil.feed(directory.chat_member(group, people.OFFICER, by=people.OFFICER))
    assert _admin_heard(vigil) == []

    await vigil.advance(seconds=30)
    assert _admin_heard(vigil)[0].startswith("🚪 Ali Raza")


async def test_a_bot_that_is_not_an_admin_learns_of_leaving_from_the_service_message(
    vigil: Harness,
) -> None:
    group = updates.group(vigil.vigil.group.id)
    left = updates.text_message("", from_user=people.ADMIN, chat=group)
    del left["message"]["text"]
    left["message"]["left_chat_member"] = people.OFFICER_2
    also = directory.chat_member(group, people.OFFICER_2, by=people.ADMIN, new_status="kicked")
    also["chat_member"]["date"] = left["message"]["date"]

    await vigil.feed(left)
    await vigil.feed(also)

    assert _admin_heard(vigil) == [
        "🚪 Sara Khan (Rangers, officer) was removed from the coordination group."
    ]
