"""/onduty, /offduty and /oncall: who the first escalation step pages."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot import render
from bot.permissions import Action
from handlers.common import NEW_MESSAGES, group_member, vigil_of

NOW_ON = "{name} is now on duty."
ALREADY_ON = "{name} was already on duty."
NOW_OFF = "{name} is now off duty."
ALREADY_OFF = "{name} was not on duty."
NOBODY = "⚠️ Nobody is on duty. Alerts will go straight to the supervisors."
ON_CALL = "On duty now:\n{people}"
NEXT = "Next shift, from {when}: {names}"


async def on_duty(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Put the caller on duty, so the first escalation step pages them."""
    await _set_duty(update, context, True)


async def off_duty(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take the caller off duty."""
    await _set_duty(update, context, False)


async def _set_duty(update: Update, context: ContextTypes.DEFAULT_TYPE, on: bool) -> None:
    member = await group_member(update, context, Action.GO_ON_DUTY)
    message = update.effective_message
    if member is None or message is None or member.id is None:
        return

    changed = await vigil_of(context).rota.set_duty(member, on)

    template = (NOW_ON if changed else ALREADY_ON) if on else (NOW_OFF if changed else ALREADY_OFF)
    await message.reply_text(template.format(name=member.name))


async def on_call(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List who is on duty now, and since when."""
    member = await group_member(update, context, Action.SEE_ON_CALL)
    message = update.effective_message
    if member is None or message is None:
        return

    vigil = vigil_of(context)
    people = await asyncio.to_thread(vigil.stores.roster.on_duty)
    coming = await vigil.rota.coming_next()

    after = ""
    if coming is not None:
        when = render.local_stamp(coming[0], vigil.settings.timezone)
        after = "\n\n" + NEXT.format(when=when, names=", ".join(m.name for m in coming[1]))
    if not people:
        await message.reply_text(NOBODY + after)
        return
    lines = [
        f"• {p.name} ({p.role}, {p.organisation})"
        + (
            f", since {render.local_stamp(p.on_duty_since, vigil.settings.timezone)}"
            if p.on_duty_since
            else ""
        )
        for p in people
    ]
    await message.reply_text(ON_CALL.format(people="\n".join(lines)) + after)


def handlers() -> list[CommandHandler[ContextTypes.DEFAULT_TYPE, None]]:
    return [
        CommandHandler("onduty", on_duty, filters=NEW_MESSAGES),
        CommandHandler("offduty", off_duty, filters=NEW_MESSAGES),
        CommandHandler("oncall", on_call, filters=NEW_MESSAGES),
    ]
