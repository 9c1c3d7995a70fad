"""The monthly meeting: plans occurrences from the rule, posts reminders, keeps tallies live.

The rows are the record. The next occurrence and its reminder rows are written as soon as the
previous meeting has passed; a sweep posts each reminder through a claim, so a restart neither
loses nor repeats one. A reminder that fell due while Vigil was down is posted late if the
meeting is still ahead, and skipped (and logged) otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from telegram import InputFile, Message, ReplyParameters
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes, JobQueue

from bot import meeting_text as text
from bot import report
from bot.clock import Clock
from bot.delivery import Poster
from config.meetings import MeetingRule, parse_rule
from config.settings import Settings
from storage.meetings import Answer, Meeting, MeetingReminder, MeetingStore, MeetingView
from storage.models import Member
from storage.report import ReportStore

logger = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=5)  # a reminder posted later than this after its time says so
NAME_MISSING_FROM = timedelta(days=1)  # reminders this close name who has not answered
REPORT_ATTEMPTS = 5
PLAN_AHEAD_MONTHS = 24


@dataclass(frozen=True)
class Planned:
    """The meeting a command acted on, with what the group should read about it."""

    view: MeetingView
    rule: str


class Meetings:
    """Plans the monthly meeting, posts its reminders and the month's report, records RSVPs."""

    def __init__(
        self,
        settings: Settings,
        store: MeetingStore,
        reports: ReportStore,
        poster: Poster,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.zone = settings.timezone
        self.offsets = settings.meeting_reminders
        self.store = store
        self.reports = reports
        self.poster = poster
        self.clock = clock
        self._lock = asyncio.Lock()
        self._edit_retry: dict[int, datetime] = {}
        self._report_retry: dict[int, datetime] = {}

    async def start(self, job_queue: JobQueue[ContextTypes.DEFAULT_TYPE] | None) -> None:
        """Adopt the rule from settings, post what fell due while down, start the sweep."""
        await asyncio.to_thread(self._adopt_settings_rule)
        await self.tick()
        if job_queue is not None:
            job_queue.run_repeating(
                self._on_tick,
                interval=self.settings.sweep_seconds,
                first=self.settings.sweep_seconds,
                name="vigil:meetings",
            )

    async def _on_tick(self, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Post due reminders and reports, and bring tallies up to date."""
        if not self._lock.locked():
            await self.tick()

    async def tick(self) -> None:
        """Plan the next meeting, post what is due, refresh tallies; safe at any time."""
        async with self._lock:
            await asyncio.to_thread(self.upcoming)
            await self._post_due()
            await self._post_reports()
            await self._sync_tallies()

    # -- planning -------------------------------------------------------------------------

    def _adopt_settings_rule(self) -> None:
        wanted = self.settings.meeting_rule
        current = self.store.current_rule()
        if not wanted or (current is not None and current.source != "settings"):
            return
        if current is None or current.text != wanted:
            row, replaced = self.store.set_rule(wanted, "settings", None, self.clock.now())
            assert row.id is not None
            logger.info("Meeting rule %s taken from settings", row.id)
            self._plan(row.id, parse_rule(wanted), replaced)

    def upcoming(self) -> Meeting | None:
        """The next meeting that holds, planned (with its reminders) if it is not yet."""
        row = self.store.current_rule()
        if row is None or row.id is None:
            return None
        found = self.store.upcoming(row.id, self.clock.now())
        return found or self._plan(row.id, parse_rule(row.text), None)

    def _plan(self, rule_id: int, rule: MeetingRule, inherit: int | None) -> Meeting | None:
        now = self.clock.now()
        days = rule.dates_from(now.astimezone(self.zone).date())
        for day, _ in zip(days, range(PLAN_AHEAD_MONTHS), strict=False):
            starts = self._utc(day, rule.at)
            if starts <= now:
                continue
            reminders = list(self.dues(starts).items())
            meeting = self.store.plan(rule_id, starts, rule.venue, reminders, now, inherit)
            if not meeting.cancelled and meeting.starts_at > now:
                return meeting
        return None

    def _utc(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    def dues(self, starts_at: datetime) -> dict[int, datetime]:
        """Each reminder's time, by minutes before the meeting, longest first.

        Counted on the local clock, so a day before 11:00 is 11:00 the day before even
        across a change to or from daylight saving time.
        """
        local = starts_at.astimezone(self.zone).replace(tzinfo=None)
        return {
            int(offset.total_seconds() // 60): (local - offset)
            .replace(tzinfo=self.zone)
            .astimezone(UTC)
            for offset in self.offsets
        }

    # -- what handlers ask for ------------------------------------------------------------

    async def next_meeting(self) -> Planned | None:
        return await asyncio.to_thread(self._planned)

    def _planned(self) -> Planned | None:
        meeting = self.upcoming()
        row = self.store.current_rule()
        if meeting is None or meeting.id is None or row is None:
            return None
        view = self.store.view(meeting.id)
        assert view is not None
        return Planned(view, parse_rule(row.text).describe())

    async def set_rule(self, rule_text: str, member: Member) -> Planned | None:
        """Put a rule in force from the chat; the next meeting is planned from it."""
        rule = parse_rule(rule_text)

        def work() -> Planned | None:
            row, replaced = self.store.set_rule(rule_text, "chat", member.id, self.clock.now())
            assert row.id is not None
            self._plan(row.id, rule, replaced)
            return self._planned()

        planned = await asyncio.to_thread(work)
        logger.info("Meeting rule set by member %s", member.id)
        await self._refresh()
        return planned

    async def move(self, starts_at: datetime, member: Member | None = None) -> Planned | None:
        """Move the next meeting to `starts_at` without changing the rule."""
        planned = await self.next_meeting()
        if planned is None or planned.view.meeting.id is None:
            return None
        meeting_id = planned.view.meeting.id
        await asyncio.to_thread(
            self.store.move,
            meeting_id,
            starts_at,
            self.dues(starts_at),
            self.clock.now(),
            member.id if member else None,
        )
        logger.info("Meeting %s moved to %s", meeting_id, starts_at.isoformat())
        await self._refresh()
        view = await asyncio.to_thread(self.store.view, meeting_id)
        assert view is not None
        return Planned(view, planned.rule)

    async def cancel(self, member: Member | None = None) -> tuple[Planned, Planned | None] | None:
        """Cancel the next meeting; returns it and the one that is now next."""
        planned = await self.next_meeting()
        if planned is None or planned.view.meeting.id is None:
            return None
        member_id = member.id if member else None
        await asyncio.to_thread(
            self.store.cancel, planned.view.meeting.id, self.clock.now(), member_id
        )
        logger.info("Meeting %s cancelled", planned.view.meeting.id)
        await self._refresh()
        return planned, await self.next_meeting()

    async def add_agenda(self, item: str, member: Member) -> tuple[Planned, int] | None:
        planned = await self.next_meeting()
        if planned is None or planned.view.meeting.id is None or member.id is None:
            return None
        count = await asyncio.to_thread(
            self.store.add_agenda, planned.view.meeting.id, item, member.id, self.clock.now()
        )
        await self._refresh()
        return planned, count

    async def answer(self, meeting_id: int, member: Member, answer: Answer) -> str:
        """Record the member's organisation's answer; returns the popup text."""
        meeting = await asyncio.to_thread(self.store.get, meeting_id)
        if meeting is None or meeting.cancelled or meeting.starts_at <= self.clock.now():
            return text.BUTTON_EXPIRED
        assert member.id is not None
        org = member.organisation
        changed = await asyncio.to_thread(
            self.store.answer, meeting_id, org, answer, member.id, self.clock.now()
        )
        if not changed:
            return text.ALREADY.format(org=org, answer=text.ANSWER_NAMES[answer].lower())
        logger.info(
            "Meeting %s: member %s answered %s for their organisation",
            meeting_id,
            member.id,
            answer,
        )
        await self._refresh()
        return text.ANSWER_DONE[answer].format(org=org)

    async def _refresh(self) -> None:
        """Plan what is now next and edit the latest reminder to match the rows."""
        async with self._lock:
            await asyncio.to_thread(self.upcoming)
            await self._sync_tallies()

    # -- reminders ------------------------------------------------------------------------

    async def _post_due(self) -> None:
        due = await asyncio.to_thread(self.store.due_reminders, self.clock.now())
        latest = {reminder.meeting_id: reminder for reminder in due}  # due is oldest first
        for reminder in due:
            if reminder is not latest[reminder.meeting_id] and reminder.id is not None:
                await self._skip(reminder, "a later reminder of the same meeting was due")
        for reminder in latest.values():
            await self._post(reminder)

    async def _skip(self, reminder: MeetingReminder, why: str) -> None:
        assert reminder.id is not None
        if await asyncio.to_thread(self.store.skip, reminder.id, why):
            logger.warning(
                "Reminder %s of meeting %s skipped: %s", reminder.id, reminder.meeting_id, why
            )

    async def _post(self, reminder: MeetingReminder) -> None:
        assert reminder.id is not None
        now = self.clock.now()
        view = await asyncio.to_thread(self.store.view, reminder.meeting_id)
        if view is None or view.meeting.cancelled or view.meeting.starts_at <= now:
            await self._skip(reminder, "the meeting is no longer ahead")
            return
        if not await asyncio.to_thread(self.store.claim, reminder.id, now):
            return
        late = now - reminder.due_at > LATE_AFTER
        body = self._reminder_text(view, reminder, late)
        try:
            message = await self.poster.send(body, text.rsvp_keyboard(reminder.meeting_id))
        except TelegramError as error:
            retry_at = self.poster.retry_at(error, reminder.attempts + 1)
            logger.warning("Reminder %s not posted (%s)", reminder.id, type(error).__name__)
            await asyncio.to_thread(self.store.defer, reminder.id, retry_at)
            return
        await asyncio.to_thread(
            self.store.record_posted,
            reminder.id,
            message.chat_id,
            message.message_id,
            view.meeting.revision,
            late,
            now,
        )
        logger.info(
            "Reminder %s of meeting %s posted%s",
            reminder.id,
            reminder.meeting_id,
            " late" if late else "",
        )

    def _reminder_text(self, view: MeetingView, reminder: MeetingReminder, late: bool) -> str:
        offset = timedelta(minutes=reminder.offset_minutes)
        shown = offset
        if late:  # say how long was really left when it went out, not the planned offset
            posted = reminder.posted_at or self.clock.now()
            shown = timedelta(
                minutes=max((view.meeting.starts_at - posted) // timedelta(minutes=1), 1)
            )
        return text.reminder(
            view,
            shown,
            self.zone,
            name_missing=offset <= NAME_MISSING_FROM,
            late_since=reminder.due_at if late else None,
        )

    async def _sync_tallies(self) -> None:
        """Edit the latest reminder of each meeting whose answers or details changed."""
        for reminder, revision in await asyncio.to_thread(self.store.stale_tallies):
            assert reminder.id is not None
            if self._edit_retry.get(reminder.id, self.clock.now()) > self.clock.now():
                continue
            await self._edit(reminder, revision)

    async def _edit(self, reminder: MeetingReminder, revision: int) -> None:
        assert reminder.id is not None and reminder.chat_id and reminder.message_id
        view = await asyncio.to_thread(self.store.view, reminder.meeting_id)
        assert view is not None
        over = view.meeting.cancelled or view.meeting.starts_at <= self.clock.now()
        markup = None if over else text.rsvp_keyboard(reminder.meeting_id)
        body = self._reminder_text(view, reminder, reminder.late)
        try:
            await self.poster.edit(reminder.chat_id, reminder.message_id, body, markup)
        except BadRequest as error:
            if "not modified" not in error.message.lower():
                logger.warning("Reminder %s not edited: %s", reminder.id, error.message)
        except TelegramError as error:
            self._edit_retry[reminder.id] = self.poster.retry_at(error, 1)
            logger.warning("Reminder %s not edited (%s)", reminder.id, type(error).__name__)
            return
        self._edit_retry.pop(reminder.id, None)
        await asyncio.to_thread(self.store.record_shown, reminder.id, revision)

    # -- the month's report ---------------------------------------------------------------

    async def _post_reports(self) -> None:
        """Post the month's report under each reminder that carries it and lacks it."""
        now = self.clock.now()
        for reminder in await asyncio.to_thread(self.store.reports_due, REPORT_ATTEMPTS):
            assert reminder.id is not None and reminder.posted_at is not None
            if self._report_retry.get(reminder.id, now) > now:
                continue
            month = report.Month.before(reminder.posted_at, self.zone)
            try:
                photo = await self.send_report(month, reminder.message_id)
            except TelegramError as error:
                logger.warning("Report for reminder %s not posted: %s", reminder.id, error)
                retry_at = self.poster.retry_at(error, reminder.report_attempts + 1)
                self._report_retry[reminder.id] = retry_at
                photo = None
            except Exception:  # a report that cannot be drawn must not stop the reminders
                logger.exception("Report for reminder %s could not be made", reminder.id)
                photo = None
            message_id = photo.message_id if photo is not None else None
            await asyncio.to_thread(self.store.record_report, reminder.id, message_id)

    async def send_report(self, month: report.Month, reply_to: int | None) -> Message:
        """Post the month's chart with its summary, then the figures in full."""
        figures, png = await asyncio.to_thread(self.build_report, month)
        reply = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        photo = await self.poster.bot.send_photo(
            self.poster.group.id,
            InputFile(png, filename=f"vigil-{month.code}.png"),
            caption=report.summary(figures),
            reply_parameters=reply,
        )
        try:
            await self.poster.send(report.details(figures), reply_to=photo.message_id)
        except TelegramError as error:  # the chart and its caption are out; not sent twice
            logger.warning("Report details for %s not posted: %s", month.code, error)
        logger.info("Report for %s posted", month.code)
        return photo

    def build_report(self, month: report.Month) -> tuple[report.MonthFigures, bytes]:
        """The month's figures and chart (slow: run it in a thread)."""
        records = self.reports.alerts_between(month.start(self.zone), month.end(self.zone))
        figures = report.figures(records, month, self.clock.now())
        return figures, report.chart_png(figures)
