"""/meeting, /agenda, /report and the RSVP buttons of the monthly meeting's reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot import meeting_text as text
from bot.meetings import Meetings
from bot.permissions import Action, refusal
from bot.report import MONTH_USAGE, Month
from config.meetings import MeetingRuleError, parse_rule
from handlers.common import NEW_MESSAGES, command_text, group_member, identify, vigil_of
from storage.models import Member

MOVE_FORMAT = "%Y-%m-%d %H:%M"


def meetings_of(context: ContextTypes.DEFAULT_TYPE) -> Meetings:
    meetings = context.bot_data["meetings"]
    assert isinstance(meetings, Meetings)
    return meetings


async def meeting(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the next meeting; admins set the rule, move or cancel one meeting."""
    words = command_text(update).split(maxsplit=1)
    verb = words[0].lower() if words else ""
    action = Action.SEE_MEETING if not verb else Action.PLAN_MEETING
    member = await group_member(update, context, action)
    message = update.effective_message
    if member is None or message is None:
        return

    meetings = meetings_of(context)
    reply: str | None
    if verb == "every":
        reply = await _set_rule(meetings, command_text(update), member)
    elif verb == "move":
        reply = await _move(meetings, words[1] if len(words) > 1 else "", member)
    elif verb == "cancel" and len(words) == 1:
        reply = await _cancel(meetings, member)
    elif not verb:
        planned = await meetings.next_meeting()
        reply = text.next_meeting(planned.view, planned.rule, meetings.zone) if planned else None
    else:
        reply = text.USAGE

    await message.reply_text(reply or text.NO_RULE)


async def _set_rule(meetings: Meetings, rule: str, member: Member) -> str:
    try:
        parse_rule(rule)
    except MeetingRuleError:
        return text.USAGE
    planned = await meetings.set_rule(" ".join(rule.split()), member)
    if planned is None:
        return text.NO_RULE
    meeting = planned.view.meeting
    upcoming = text.NEXT.format(
        when=text.when(meeting.starts_at, meetings.zone), venue=meeting.venue
    )
    return text.RULE_SET.format(rule=planned.rule, next=upcoming)


async def _move(meetings: Meetings, when: str, member: Member) -> str | None:
    example = (meetings.clock.now() + timedelta(days=10)).astimezone(meetings.zone)
    usage = text.MOVE_USAGE.format(eg=f"{example:%Y-%m-%d} 11:00")
    try:
        local = datetime.strptime(" ".join(when.split()), MOVE_FORMAT)
    except ValueError:
        return usage
    starts_at = local.replace(tzinfo=meetings.zone).astimezone(UTC)
    if starts_at <= meetings.clock.now():
        return usage
    planned = await meetings.move(starts_at, member)
    if planned is None:
        return None
    meeting = planned.view.meeting
    return text.MOVED.format(when=text.when(meeting.starts_at, meetings.zone), venue=meeting.venue)


async def _cancel(meetings: Meetings, member: Member) -> str | None:
    result = await meetings.cancel(member)
    if result is None:
        return None
    cancelled, upcoming = result
    after = ""
    if upcoming is not None:
        meeting = upcoming.view.meeting
        after = text.NEXT.format(
            when=text.when(meeting.starts_at, meetings.zone), venue=meeting.venue
        )
    moment = text.when(cancelled.view.meeting.starts_at, meetings.zone)
    return text.CANCELLED.format(when=moment, next=after).strip()


async def agenda(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the next meeting's agenda; admins add items with /agenda add …."""
    words = command_text(update).split(maxsplit=1)
    adding = bool(words) and words[0].lower() == "add"
    member = await group_member(
        update, context, Action.PLAN_MEETING if adding else Action.SEE_MEETING
    )
    message = update.effective_message
    if member is None or message is None:
        return
    if words and (not adding or len(words) < 2):
        await message.reply_text(text.AGENDA_USAGE)
        return

    meetings = meetings_of(context)
    if adding:
        added = await meetings.add_agenda(words[1].strip(), member)
        moment = text.when(added[0].view.meeting.starts_at, meetings.zone) if added else ""
        reply = text.AGENDA_ADDED.format(when=moment, count=added[1]) if added else None
    else:
        planned = await meetings.next_meeting()
        reply = text.agenda(planned.view, meetings.zone) if planned else None

    await message.reply_text(reply or text.NO_RULE)


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Post a month's figures and chart (default: last month)."""
    member = await group_member(update, context, Action.SEE_REPORT)
    message = update.effective_message
    if member is None or message is None:
        return
    words = command_text(update).split()
    meetings = meetings_of(context)
    month = Month.parse(words[0]) if len(words) == 1 else None
    if words and month is None:
        await message.reply_text(MONTH_USAGE)
        return

    month = month or Month.before(meetings.clock.now(), meetings.zone)

    await meetings.send_report(month, reply_to=message.message_id)


async def rsvp(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record an organisation's answer from a reminder's buttons; the tally is edited."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    _, _, rest = query.data.partition(":")
    meeting_id, _, code = rest.partition(":")
    in_group = query.message is not None and query.message.chat.id == vigil_of(context).group.id
    if not meeting_id.isdigit() or code not in text.ANSWER_CODES or not in_group:
        await query.answer(text.BUTTON_EXPIRED, show_alert=True)
        return
    member = await identify(update, context)
    why = refusal(member, Action.RSVP)
    if why is not None or member is None:
        await query.answer(why, show_alert=True)
        return

    reply = await meetings_of(context).answer(int(meeting_id), member, text.ANSWER_CODES[code])

    await query.answer(reply, show_alert=reply == text.BUTTON_EXPIRED)


def handlers() -> list[
    CommandHandler[ContextTypes.DEFAULT_TYPE, None]
    | CallbackQueryHandler[ContextTypes.DEFAULT_TYPE, None]
]:
    return [
        CommandHandler("meeting", meeting, filters=NEW_MESSAGES),
        CommandHandler("agenda", agenda, filters=NEW_MESSAGES),
        CommandHandler("report", report, filters=NEW_MESSAGES),
        CallbackQueryHandler(rsvp, pattern=rf"^{text.RSVP}:"),
    ]
