"""Keeping the group safe: foreign groups, anonymous senders, people leaving, the bot removed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from telegram import ChatMember, ChatMemberRestricted, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import onboarding
from bot.service import Vigil
from handlers.common import vigil_of
from storage.audit import Actor
from storage.models import Member

logger = logging.getLogger(__name__)

FOREIGN_GROUP = (
    "I work only in the coordination group I was set up for, so I am leaving this chat."
)
ANONYMOUS = (
    "I can't tell who sent this: it was posted anonymously or on behalf of a channel. "
    "Please post as yourself (turn off “Remain anonymous” in your admin rights, "
    "or choose your own account as the sender) and send it again."
)
MEMBER_LEFT = (
    "🚪 {name} ({organisation}, on the roster as {role}) has left the coordination group."
)
MEMBER_REMOVED = "🚪 {name} ({organisation}, {role}) was removed from the coordination group."
BOT_REMOVED = (
    "🚨 Vigil was removed from the coordination group. Cards and group lines can't be posted; "
    "escalation by SMS goes on. Add the bot back to the group."
)
BOT_MUTED = (
    "🚨 Vigil can no longer post in the coordination group (it was muted). Escalation by SMS "
    "goes on. Give the bot back the right to send messages."
)
GONE = (ChatMember.LEFT, ChatMember.BANNED)
PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER)


async def remember_private_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Note who has opened a private chat, so shift notices may go there instead of SMS."""
    user = update.effective_user
    if user is None or user.is_bot:
        return
    vigil = vigil_of(context)
    await asyncio.to_thread(vigil.stores.directory.mark_private_chat, user.id, vigil.clock.now())


async def foreign_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything from a group other than ours: say so, leave, and act on nothing."""
    chat, message = update.effective_chat, update.effective_message
    if chat is None or chat.type == "private" or chat.id == vigil_of(context).group.id:
        return
    if message is not None and (message.migrate_from_chat_id or message.migrate_to_chat_id):
        return  # our own group moving to a supergroup, perhaps seen before the move itself
    if _bot_status(update) in GONE:
        raise ApplicationHandlerStop
    logger.warning("Added to or used in chat %s, which is not the group: leaving", chat.id)
    try:
        await context.bot.send_message(chat.id, FOREIGN_GROUP)
        await context.bot.leave_chat(chat.id)
    except TelegramError as error:
        logger.warning("Could not leave chat %s: %s", chat.id, error)
    raise ApplicationHandlerStop


async def anonymous(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command nobody can be tied to: ask them to post as themselves, store nothing."""
    message = update.effective_message
    if message is None or message.sender_chat is None:
        return
    if message.chat.id != vigil_of(context).group.id:
        return
    await message.reply_text(ANONYMOUS)
    raise ApplicationHandlerStop


async def member_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A roster member left or was removed from the group: the admins are told."""
    change = update.chat_member
    vigil = vigil_of(context)
    if change is None or change.chat.id != vigil.group.id:
        return
    if change.new_chat_member.status not in GONE or change.old_chat_member.status in GONE:
        return
    user = change.new_chat_member.user
    member = await asyncio.to_thread(vigil.stores.directory.by_telegram_id, user.id)
    if member is None:
        return

    kicked = change.new_chat_member.status == ChatMember.BANNED or change.from_user.id != user.id
    await _report_leaving(vigil, member, kicked, change.date)


async def _report_leaving(vigil: Vigil, member: Member, kicked: bool, at: datetime) -> None:
    template = MEMBER_REMOVED if kicked else MEMBER_LEFT
    text = template.format(name=member.name, organisation=member.organisation, role=member.role)
    logger.warning("Member %s is no longer in the group", member.id)
    # Both a chat_member update and a service message may report it: one key for the minute.
    minute = at.replace(second=0, microsecond=0)
    await onboarding.tell_admins(vigil, f"left:{member.id}", minute, text)


async def member_left(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The same news from the group's service message, for a bot that is not an admin there."""
    message = update.effective_message
    vigil = vigil_of(context)
    if message is None or message.left_chat_member is None or message.chat.id != vigil.group.id:
        return
    user = message.left_chat_member
    member = await asyncio.to_thread(vigil.stores.directory.by_telegram_id, user.id)
    if member is None:
        return

    kicked = message.from_user is not None and message.from_user.id != user.id
    await _report_leaving(vigil, member, kicked, message.date)


async def bot_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Vigil removed from, or muted in, the group: the admins hear it privately and by SMS."""
    change = update.my_chat_member
    vigil = vigil_of(context)
    if change is None or change.chat.id != vigil.group.id:
        return
    new = change.new_chat_member
    muted = isinstance(new, ChatMemberRestricted) and not new.can_send_messages
    if new.status not in GONE and not muted:
        return

    text = BOT_MUTED if muted else BOT_REMOVED
    logger.error("Vigil was %s in the group", "muted" if muted else "removed")
    now = vigil.clock.now()
    actor = Actor(change.from_user.full_name)
    await asyncio.to_thread(
        vigil.stores.audit.append,
        now,
        actor,
        "group.bot_status",
        "group",
        None,
        {"status": new.status},
    )
    await onboarding.tell_admins(vigil, f"bot:{new.status}", change.date, text, sms=True)


def _bot_status(update: Update) -> str | None:
    change = update.my_chat_member
    return change.new_chat_member.status if change is not None else None


def handlers() -> dict[int, Sequence[BaseHandler[Any, ContextTypes.DEFAULT_TYPE, Any]]]:
    """In handler groups below zero, so they run before every other handler, in this order."""
    return {
        -3: [TypeHandler(Update, foreign_group)],
        -2: [
            MessageHandler(filters.ChatType.PRIVATE, remember_private_chat),
            ChatMemberHandler(bot_changed, ChatMemberHandler.MY_CHAT_MEMBER),
            ChatMemberHandler(member_changed, ChatMemberHandler.CHAT_MEMBER),
            MessageHandler(filters.StatusUpdate.LEFT_CHAT_MEMBER, member_left),
        ],
        -1: [MessageHandler(filters.SenderChat.ALL & filters.COMMAND, anonymous)],
    }
