"""What every handler needs: the services, the caller's roster entry, and the chat check."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes, filters

from bot.permissions import Action, may, roles_for
from bot.service import Vigil
from storage.models import Member

NOT_ON_ROSTER = (
    "You are not on Vigil's roster, so I can't act on this. "
    "Ask the security cell's administrator to add you."
)
ONLY_IN_GROUP = "I only take commands in the coordination group. Here you can use /help."
NOT_ALLOWED = "Only {roles} can {action}."


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
    member = await identify(update, context)
    if member is None:
        await message.reply_text(NOT_ON_ROSTER)
        return None
    if action is not None and not may(member, action):
        await message.reply_text(NOT_ALLOWED.format(roles=roles_for(action), action=action))
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
