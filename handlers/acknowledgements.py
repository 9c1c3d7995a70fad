"""Acknowledge and Resolve, by button or by /ack and /resolve."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot import render
from bot.permissions import BUTTON_ACTIONS, Action, refusal
from handlers.common import (
    NEW_MESSAGES,
    NOT_ON_ROSTER,
    command_text,
    group_member,
    identify,
    parse_alert_number,
    vigil_of,
)
from storage.alerts import Outcome
from storage.models import AlertState, Member

ACK_USAGE = "Usage: /ack [alert number], e.g. /ack 12"
RESOLVE_USAGE = "Usage: /resolve <alert number> [note], e.g. /resolve 12 false alarm"
NO_WAITING = "No alert is waiting for acknowledgement."
WHICH_ONE = "Several alerts are open: {choices}. Say which, e.g. /ack {first}."
NOT_FOUND = "There is no alert #{id}."
BUTTON_EXPIRED = "This button is no longer valid."

ACK_REPLIES = {
    Outcome.DONE: "Alert #{id} acknowledged. Escalation has stopped.",
    Outcome.RESPONDER: "Alert #{id} was already acknowledged; you are recorded as responding.",
    Outcome.ALREADY_RESPONDING: "You are already recorded as responding to alert #{id}.",
    Outcome.ALREADY_YOURS: "You have already acknowledged alert #{id}.",
    Outcome.ALREADY_RESOLVED: "Alert #{id} is already resolved.",
    Outcome.NOT_FOUND: NOT_FOUND,
}
RESOLVE_REPLIES = {
    Outcome.DONE: "Alert #{id} resolved.",
    Outcome.ALREADY_RESOLVED: "Alert #{id} is already resolved.",
    Outcome.NOT_FOUND: NOT_FOUND,
}


async def ack_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge an alert by number, or the only one waiting."""
    member = await group_member(update, context, Action.ACKNOWLEDGE)
    message = update.effective_message
    if member is None or message is None:
        return
    words = command_text(update).split()
    alert_id = parse_alert_number(words[0]) if words else await _only_open(context)
    if words and alert_id is None:
        await message.reply_text(ACK_USAGE)
        return
    if alert_id is None or isinstance(alert_id, str):
        await message.reply_text(alert_id or NO_WAITING)
        return

    outcome = await vigil_of(context).acknowledge(alert_id, member)

    await message.reply_text(ACK_REPLIES[outcome].format(id=alert_id))


async def _only_open(context: ContextTypes.DEFAULT_TYPE) -> int | str | None:
    """The alert `/ack` alone means, or a question listing the candidates."""
    vigil = vigil_of(context)
    open_alerts = await asyncio.to_thread(vigil.stores.alerts.open_alerts)
    waiting = [a for a in open_alerts if a.state == AlertState.WAITING]
    for candidates in (waiting, open_alerts):
        if len(candidates) == 1:
            return candidates[0].id
    if not waiting:
        return None
    choices = ", ".join(f"#{a.id}" for a in waiting[:10])
    return WHICH_ONE.format(choices=choices, first=waiting[0].id)


async def resolve_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Resolve an alert by number, with an optional note."""
    member = await group_member(update, context, None)  # who may depends on the alert
    message = update.effective_message
    if member is None or message is None:
        return
    words = command_text(update).split(maxsplit=1)
    alert_id = parse_alert_number(words[0]) if words else None
    if alert_id is None:
        await message.reply_text(RESOLVE_USAGE)
        return
    note = words[1].strip() if len(words) > 1 else None

    refusal = await _resolve_refusal(context, member, alert_id)
    if refusal:
        await message.reply_text(refusal)
        return
    outcome = await vigil_of(context).resolve(alert_id, member, note)

    if outcome is not Outcome.DONE:
        await message.reply_text(RESOLVE_REPLIES[outcome].format(id=alert_id))


async def _resolve_refusal(
    context: ContextTypes.DEFAULT_TYPE, member: Member, alert_id: int
) -> str | None:
    """Why `member` may not resolve this alert, or None if they may."""
    alert = await asyncio.to_thread(vigil_of(context).stores.alerts.get, alert_id)
    if alert is None:
        return NOT_FOUND.format(id=alert_id)
    return refusal(member, Action.RESOLVE, reporter_id=alert.reporter_id)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge or resolve from the card's buttons; refusals come back as a popup."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    kind, _, number = query.data.partition(":")
    alert_id = parse_alert_number(number)
    if alert_id is None or kind not in (render.ACK, render.RESOLVE):
        await query.answer(BUTTON_EXPIRED, show_alert=True)
        return
    if query.message is None or query.message.chat.id != vigil_of(context).group.id:
        await query.answer(BUTTON_EXPIRED, show_alert=True)
        return
    member = await identify(update, context)
    if member is None:
        await query.answer(NOT_ON_ROSTER, show_alert=True)
        return

    if kind == render.ACK:
        text, done = await _ack_button(context, member, alert_id)
    else:
        text, done = await _resolve_button(context, member, alert_id)

    await query.answer(text, show_alert=not done)


async def _ack_button(
    context: ContextTypes.DEFAULT_TYPE, member: Member, alert_id: int
) -> tuple[str, bool]:
    why = refusal(member, BUTTON_ACTIONS[render.ACK])
    if why is not None:
        return why, False
    outcome = await vigil_of(context).acknowledge(alert_id, member)
    return ACK_REPLIES[outcome].format(id=alert_id), outcome is Outcome.DONE


async def _resolve_button(
    context: ContextTypes.DEFAULT_TYPE, member: Member, alert_id: int
) -> tuple[str, bool]:
    refusal = await _resolve_refusal(context, member, alert_id)
    if refusal:
        return refusal, False
    outcome = await vigil_of(context).resolve(alert_id, member, None)
    return RESOLVE_REPLIES[outcome].format(id=alert_id), outcome is Outcome.DONE


def handlers() -> list[
    CommandHandler[ContextTypes.DEFAULT_TYPE, None]
    | CallbackQueryHandler[ContextTypes.DEFAULT_TYPE, None]
]:
    return [
        CommandHandler("ack", ack_command, filters=NEW_MESSAGES),
        CommandHandler("resolve", resolve_command, filters=NEW_MESSAGES),
        CallbackQueryHandler(button, pattern=r"^(ack|resolve):"),
    ]
