"""What every handler needs: the services, the caller's roster entry, and the chat check."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes, filters

from bot.permissions import NOT_ON_ROSTER, Action, refusal
from bot.service import Vigil
from storage.models import Member

__all__ = ["NOT_ON_ROSTER", "ONLY_IN_GROUP", "group_member", "identify", "refusal"]

ONLY_IN_GROUP = "I only take commands in the coordination group. Here you can use /help."


def vigil_of(context: ContextTypes.DEFAULT_TYPE) -> Vigil:
    vigil = context.bot_data["vigil"]
    assert isinstance(vigil, Vigil)
    return vigil


async def identify(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Member | None:
    """The roster member behind this update, or None."""
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    vigil = vigil_of(context)
    return await asyncio.to_thread(
        vigil.stores.roster.identify, user.id, user.username, vigil.clock.now()
    )


async def group_member(
    update: Update, context: ContextTypes.DEFAULT_TYPE, action: Action | None
) -> Member | None:
    """The caller, if this is the group, they are on the roster and may take `action`.

    Otherwise the caller is told why not and None is returned.
    """
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return None
    if chat.id != vigil_of(context).group.id:
        await message.reply_text(ONLY_IN_GROUP)
        return None
    return await allowed_member(update, context, action)


async def allowed_member(
    update: Update, context: ContextTypes.DEFAULT_TYPE, action: Action | None
) -> Member | None:
    """The caller if they are on the roster and may take `action`; else they are told why."""
    message = update.effective_message
    member = await identify(update, context)
    why = NOT_ON_ROSTER if member is None else refusal(member, action) if action else None
    if member is None or why is not None:
        if message is not None:
            await message.reply_text(why or NOT_ON_ROSTER)
        return None
    return member


def command_text(update: Update) -> str:
    """The text after the command word, newlines kept (context.args would fold them)."""
    message = update.effective_message
    if message is None or not message.text:
        return ""
    entity = next((e for e in message.entities if e.offset == 0), None)
    start = entity.length if entity else len(message.text.split(maxsplit=1)[0])
    return message.text[start:].strip()


def parse_alert_number(word: str) -> int | None:
    """`12` or `#12` → 12; anything else → None."""
    digits = word.strip().removeprefix("#")
    return int(digits) if digits.isdigit() and len(digits) < 10 else None


# Commands act on new messages only: editing an old /alert must not act on it again.
NEW_MESSAGES = filters.UpdateType.MESSAGE
