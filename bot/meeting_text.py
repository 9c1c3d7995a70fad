"""Everything the group reads about the monthly meeting: reminders, tallies and replies."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import MESSAGE_LIMIT, escape, local_stamp, shorten
from config.meetings import format_offset
from storage.meetings import Answer, MeetingView

RSVP = "rsvp"
ANSWER_CODES = {"yes": Answer.ATTENDING, "deputy": Answer.DEPUTY, "no": Answer.ABSENT}
BUTTONS = (("✅ Attending", "yes"), ("👤 Sending a deputy", "deputy"), ("❌ Can't attend", "no"))
ANSWER_NAMES = {
    Answer.ATTENDING: "Attending",
    Answer.DEPUTY: "Sending a deputy",
    Answer.ABSENT: "Can't attend",
}
ANSWER_DONE = {
    Answer.ATTENDING: "{org} is attending.",
    Answer.DEPUTY: "{org} is sending a deputy.",
    Answer.ABSENT: "{org} can't attend.",
}

USAGE = (
    "Usage: /meeting | /meeting every first monday 11:00 at <venue> "
    "(or every last thursday, every 15th) | /meeting move YYYY-MM-DD HH:MM | /meeting cancel"
)
MOVE_USAGE = "Usage: /meeting move YYYY-MM-DD HH:MM, a time still ahead, e.g. /meeting move {eg}"
AGENDA_USAGE = "Usage: /agenda to see it, /agenda add <item> to add one"
NO_RULE = (
    "No meeting is scheduled. An admin sets one, e.g. "
    "/meeting every first monday 11:00 at Central Police Office"
)
RULE_SET = "Meeting rule set: {rule}.\n{next}"
NEXT = "Next meeting: {when}, {venue}."
MOVED = "Meeting moved to {when}, {venue}. Reminders follow it."
CANCELLED = "The meeting of {when} is cancelled. {next}"
AGENDA_ADDED = "Added to the agenda of {when} (item {count})."
NO_AGENDA = "The agenda of {when} is empty. Admins add items with /agenda add <item>."
BUTTON_EXPIRED = "This meeting is over or cancelled."
ALREADY = "{org} had already answered: {answer}."
NO_AGENDA_ITEMS = "<b>Agenda</b>: nothing yet (/agenda add &lt;item&gt;)"


def when(moment: datetime, zone: ZoneInfo) -> str:
    """`Monday 4 January 2027, 11:00` in the group's time zone."""
    local = moment.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


def rsvp_keyboard(meeting_id: int) -> InlineKeyboardMarkup:
    """Attending, Sending a deputy, Can't attend; callback data stays far under 64 bytes."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=f"{RSVP}:{meeting_id}:{code}")
                for label, code in BUTTONS
            ]
        ]
    )


def reminder(
    view: MeetingView,
    offset: timedelta,
    zone: ZoneInfo,
    *,
    name_missing: bool,
    late_since: datetime | None = None,
) -> str:
    """A reminder in Telegram HTML: when, where, agenda, who answered what."""
    meeting = view.meeting
    if meeting.cancelled:
        head = f"❌ <b>Security meeting cancelled</b>: {when(meeting.starts_at, zone)}"
    else:
        head = f"📅 <b>Security meeting in {format_offset(offset)}</b>"
    lines = [head, f"🕚 {when(meeting.starts_at, zone)}", f"📍 {escape(meeting.venue)}"]
    if meeting.moved and meeting.planned_at != meeting.starts_at:
        lines.append(f"Moved from {when(meeting.planned_at, zone)}")
    lines += ["", *agenda_lines(view), "", *tally(view, name_missing)]
    if late_since is not None:
        lines += ["", f"⏰ Posted late: it was due at {local_stamp(late_since, zone)}."]
    return shorten("\n".join(lines), MESSAGE_LIMIT - 200)  # room for the markup


def agenda_lines(view: MeetingView) -> list[str]:
    if not view.agenda:
        return [NO_AGENDA_ITEMS]
    items = [
        f"{number}. {escape(shorten(text, 300))}" for number, text in enumerate(view.agenda, 1)
    ]
    return ["<b>Agenda</b>", *items]


def tally(view: MeetingView, name_missing: bool) -> list[str]:
    """Each answer with the organisations that gave it, then those still silent."""
    lines = []
    for answer, name in ANSWER_NAMES.items():
        orgs = [org for org, given in sorted(view.answers.items()) if given == answer]
        lines.append(f"{name}: {escape(', '.join(orgs)) if orgs else '—'}")
    missing = view.unanswered
    if missing and name_missing:
        lines.append(f"<b>Not answered yet</b>: {escape(', '.join(missing))}")
    elif missing:
        lines.append(f"{len(missing)} of {len(view.organisations)} organisations not answered yet")
    return lines


def next_meeting(view: MeetingView, rule: str, zone: ZoneInfo) -> str:
    """`/meeting`: the next meeting, its rule, agenda and answers, as plain text."""
    meeting = view.meeting
    lines = [NEXT.format(when=when(meeting.starts_at, zone), venue=meeting.venue)]
    if meeting.moved and meeting.planned_at != meeting.starts_at:
        lines.append(f"Moved from {when(meeting.planned_at, zone)}.")
    lines.append(f"Rule: {rule}.")
    lines.append(f"Agenda: {len(view.agenda)} item(s), /agenda to read it.")
    answered = len(view.organisations) - len(view.unanswered)
    lines.append(f"Answers: {answered} of {len(view.organisations)} organisations.")
    return "\n".join(lines)


def agenda(view: MeetingView, zone: ZoneInfo) -> str:
    """`/agenda`: the next meeting's items, numbered."""
    moment = when(view.meeting.starts_at, zone)
    if not view.agenda:
        return NO_AGENDA.format(when=moment)
    items = [f"{number}. {text}" for number, text in enumerate(view.agenda, 1)]
    return shorten("\n".join([f"Agenda of {moment}:", *items]), MESSAGE_LIMIT)
