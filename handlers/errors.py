"""The last resort: log the failure with its traceback, tell the user only that it failed."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

logger = logging.getLogger(__name__)

FAILED = "Sorry, that did not work. Please try again in a moment."


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log an unexpected error and, where there is someone to tell, say it failed."""
    where = ""
    if isinstance(update, Update):
        where = f" in update {update.update_id}"
    logger.error("Unhandled error%s", where, exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(FAILED, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(FAILED)
    except TelegramError as error:
        logger.warning("Could not tell the user about the failure: %s", error)
