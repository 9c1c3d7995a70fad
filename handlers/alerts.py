"""/alert: a roster member raises an alert and the group gets its card."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.permissions import Action
from handlers.common import NEW_MESSAGES, command_text, group_member, vigil_of
from storage.models import Level

USAGE = (
    "Usage: /alert [critical|high|normal] <what is happening and where>\n"
    "Example: /alert critical Suspicious vehicle at the main gate"
)
DEFAULT_LEVEL = Level.HIGH


def parse_alert(text: str) -> tuple[str, str] | None:
    """Split `critical Fire in the lobby` into (level, text); None when there is no text."""
    words = text.split(maxsplit=1)
    level: str = DEFAULT_LEVEL
    first = words[0].lower().rstrip(":,.-!") if words else ""  # "CRITICAL:" on a phone
    if first in set(Level):
        level = first
        text = words[1] if len(words) > 1 else ""
    return (level, text) if text else None


async def alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Raise an alert and post its card with Acknowledge and Resolve buttons."""
    member = await group_member(update, context, Action.RAISE)
    message = update.effective_message
    if member is None or message is None:
        return
    parsed = parse_alert(command_text(update))
    if parsed is None:
        await message.reply_text(USAGE)
        return

    level, text = parsed
    await vigil_of(context).raise_alert(member, level, text, message.chat_id, message.message_id)


def handlers() -> list[CommandHandler[ContextTypes.DEFAULT_TYPE, None]]:
    return [CommandHandler("alert", alert, filters=NEW_MESSAGES)]
