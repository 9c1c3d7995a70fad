"""The Update builders produce JSON that PTB parses and routes like Telegram's own."""

from __future__ import annotations

import pytest
import telegram
from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from tests.fakes import updates

ANN = updates.user(101, "Ann", username="ann", last_name="Lee")
GROUP = updates.group()


async def _ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A handler callback that is never run."""


def parsed(update: dict, bot: telegram.Bot) -> Update:
    """The builder's update as PTB reads it."""
    return Update.de_json(updates.with_update_id(update, 1), bot)


@pytest.mark.parametrize("text", ["/alert Fire", "/alert@vigil_test_bot Fire in B", "/alert"])
async def test_command_updates_match_ptbs_command_handler(bot: telegram.Bot, text: str) -> None:
    update = parsed(updates.command(text, from_user=ANN, chat=GROUP), bot)

    assert CommandHandler("alert", _ignore).check_update(update)
    assert not CommandHandler("ack", _ignore).check_update(update)


async def test_a_command_for_another_bot_does_not_match(bot: telegram.Bot) -> None:
    update = parsed(updates.command("/alert@other_bot x", from_user=ANN, chat=GROUP), bot)

    assert not CommandHandler("alert", _ignore).check_update(update)


def test_a_command_must_start_with_a_slash() -> None:
    with pytest.raises(ValueError, match="starts with '/'"):
        updates.command("alert", from_user=ANN, chat=GROUP)


async def test_chats_users_and_replies_parse_in_ptb(bot: telegram.Bot) -> None:
    question = updates.text_message("who is on duty?", from_user=ANN, chat=GROUP)["message"]
    reply = updates.text_message("me", from_user=ANN, chat=GROUP, reply_to=question)

    message = parsed(reply, bot).message

    assert message is not None and message.reply_to_message is not None
    assert message.from_user is not None
    assert (message.chat.type, message.chat.title) == ("supergroup", "Coordination")
    assert message.from_user.full_name == "Ann Lee"
    assert message.reply_to_message.text == "who is on duty?"


async def test_service_and_contact_messages_parse_in_ptb(bot: telegram.Bot) -> None:
    moved = parsed(updates.migrate_to(-4001, -1004001, ANN), bot).message
    arrived = parsed(updates.migrate_from(-1004001, -4001, ANN), bot).message
    contact = parsed(
        updates.contact_message("+15005550006", from_user=ANN, chat=updates.private_chat(ANN)),
        bot,
    ).message

    assert moved is not None and arrived is not None and contact is not None
    assert (moved.chat.type, moved.migrate_to_chat_id) == ("group", -1004001)
    assert arrived.migrate_from_chat_id == -4001
    assert contact.contact is not None and contact.contact.user_id == ANN["id"]
    assert contact.chat.type == "private"


async def test_the_bots_own_membership_change_parses_in_ptb(bot: telegram.Bot) -> None:
    change = parsed(updates.my_chat_member(GROUP, from_user=ANN), bot).my_chat_member

    assert change is not None
    assert change.new_chat_member.user.id == bot.id
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("left", "member")


def test_message_ids_count_up_unless_given() -> None:
    first = updates.text_message("a", from_user=ANN, chat=GROUP)["message"]["message_id"]
    second = updates.text_message("b", from_user=ANN, chat=GROUP)["message"]["message_id"]
    chosen = updates.text_message("c", from_user=ANN, chat=GROUP, message_id=7)["message"]

    assert second == first + 1
    assert chosen["message_id"] == 7
