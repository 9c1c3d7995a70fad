"""/status: what is open, who has it and how long it has waited; /status N: one timeline."""

from __future__ import annotations

import asyncio

from telegram import Message, Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, ContextTypes

from bot import render
from bot.permissions import Action
from handlers.common import NEW_MESSAGES, command_text, group_member, parse_alert_number, vigil_of

USAGE = "Usage: /status for every open alert, or /status <alert number> for one alert."
NOT_FOUND = "There is no alert #{id}."
LIST_WAITING = "status_list_waiting"


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show every open alert, or one alert's timeline."""
    member = await group_member(update, context, Action.SEE_STATUS)
    message = update.effective_message
    if member is None or message is None:
        return
    words = command_text(update).split()
    alert_id = parse_alert_number(words[0]) if words else None
    if words and alert_id is None:
        await message.reply_text(USAGE)
        return

    if alert_id is None:
        await _status_list(context, message)
        return

    text = await _timeline(context, alert_id)

    await message.reply_text(text, parse_mode=ParseMode.HTML)


async def _status_list(context: ContextTypes.DEFAULT_TYPE, message: Message) -> None:
    """Send the open alerts, unless a list for this chat is still waiting for Telegram.

    In a burst, Telegram's group limit makes chatter wait behind alert cards; the list that
    is waiting then answers everyone who asked meanwhile, instead of adding to the queue.
    """
    chat_data = context.chat_data if context.chat_data is not None else {}
    if chat_data.get(LIST_WAITING):
        return
    chat_data[LIST_WAITING] = True
    try:
        vigil = vigil_of(context)
        views = await asyncio.to_thread(vigil.stores.alerts.open_views)
        text = render.status_list(views, vigil.clock.now())
        await message.reply_text(text, parse_mode=ParseMode.HTML)
    finally:
        chat_data[LIST_WAITING] = False


async def _timeline(context: ContextTypes.DEFAULT_TYPE, alert_id: int) -> str:
    vigil = vigil_of(context)
    view = await asyncio.to_thread(vigil.stores.alerts.view, alert_id)
    if view is None:
        return NOT_FOUND.format(id=alert_id)
    entries = await asyncio.to_thread(vigil.stores.alerts.timeline, alert_id)
    return render.timeline(view, entries, vigil.settings.timezone)


def handlers() -> list[CommandHandler[ContextTypes.DEFAULT_TYPE, None]]:
    return [CommandHandler("status", status, filters=NEW_MESSAGES)]
