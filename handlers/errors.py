"""The last resort: log the failure with its traceback, tell the user only that it failed."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import ContextTypes

logger = logging.getLogger(__name__)

FAILED = "Sorry, that did not work. Please try again in a moment."


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log an unexpected error and, where there is someone to tell, say it failed."""
    if not isinstance(update, Update):
        if isinstance(context.error, NetworkError):  # polling hiccups; the updater retries
            logger.warning("Telegram unreachable for a moment: %s", type(context.error).__name__)
        else:
            logger.error("Unhandled error in a background task", exc_info=context.error)
        return
    logger.error("Unhandled error in update %s", update.update_id, exc_info=context.error)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(FAILED, show_alert=True)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(FAILED)
    except TelegramError as error:
        logger.warning("Could not tell the user about the failure: %s", error)
