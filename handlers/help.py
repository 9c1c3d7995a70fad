"""/help and /start: the commands the caller may use."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from bot.permissions import RESPONDERS
from handlers.common import NEW_MESSAGES, identify
from storage.models import Member, Role

INTRO = (
    "I am Vigil, the coordination group's alert bot. Alerts are raised in the group; "
    "if nobody acknowledges in time, I page the duty officers, then supervisors, then "
    "command by SMS."
)
EVERYONE = [
    "/alert [critical|high|normal] <what and where> — raise an alert",
    "/status — open alerts; /status N — one alert's timeline",
    "/whoami — your roster entry",
    "/meeting — the next security meeting; /agenda — its agenda",
    "/report [YYYY-MM] — a month's alert figures (default: last month)",
    "/help — this list",
]
RESPONDER = [
    "/ack [N] — acknowledge an alert (or press Acknowledge on its card)",
    "/resolve N [note] — close an alert",
    "/onduty, /offduty — start or end your duty",
    "/oncall — who is on duty now, and who comes next",
]
REPORTER = ["/resolve N [note] — close an alert you raised (e.g. a false alarm)"]
ADMIN = [
    "/resolve N [note] — close any alert",
    "/oncall — who is on duty now, and who comes next",
    "/invite <role> <organisation> — in a private chat: a one-time link to join",
    "/revoke <code> — cancel an unused invitation",
    "/roster — everyone, by organisation; /rota — the duty shifts",
    "/whois, /setrole <role>, /remove — reply to the person, or give @username or name",
    "/meeting every first monday 11:00 at <venue> — set the monthly meeting",
    "/meeting move YYYY-MM-DD HH:MM, /meeting cancel — change the next one only",
    "/agenda add <item> — add to the next meeting's agenda",
]
NOT_ON_ROSTER = "You are not on the roster yet: ask an admin of the security cell to invite you."


def commands_for(member: Member | None) -> list[str]:
    if member is None:
        return []
    role = Role(member.role)
    if role in RESPONDERS:
        return EVERYONE + RESPONDER
    return EVERYONE + (ADMIN if role is Role.ADMIN else REPORTER)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the commands this person may use."""
    message = update.effective_message
    if message is None:
        return

    member = await identify(update, context)

    commands = commands_for(member)
    body = "\n".join(commands) if commands else NOT_ON_ROSTER
    await message.reply_text(f"{INTRO}\n\n{body}")


def handlers() -> list[CommandHandler[ContextTypes.DEFAULT_TYPE, None]]:
    return [CommandHandler(["help", "start"], help_command, filters=NEW_MESSAGES)]
