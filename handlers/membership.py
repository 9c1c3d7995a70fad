"""The group's own life: a migration to a supergroup moves the stored chat id with it."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes, MessageHandler, filters

from handlers.common import vigil_of


async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow the group when Telegram upgrades it to a supergroup."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        await vigil_of(context).migrate_group(message.chat_id, message.migrate_to_chat_id)
    elif message.migrate_from_chat_id:
        await vigil_of(context).migrate_group(message.migrate_from_chat_id, message.chat_id)


def handlers() -> list[MessageHandler[ContextTypes.DEFAULT_TYPE, None]]:
    return [MessageHandler(filters.StatusUpdate.MIGRATE, migrated)]
