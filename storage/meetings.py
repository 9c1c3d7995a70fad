"""The monthly meeting: its rule, each occurrence, its reminders, answers and agenda.

Reminders are rows, like the outboxes: a poster claims one (pending → posting), sends it and
records the message, so a restart neither loses nor repeats a reminder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Engine, Index, Text, UniqueConstraint, and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, Session, SQLModel, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from storage import audit
from storage.db import rows_changed, session_scope
from storage.models import Member, big_int, utc_column

# A claim older than this belongs to a poster that died mid-call: the reminder is posted again.
STALE_CLAIM = timedelta(minutes=2)


class ReminderStatus(StrEnum):
    PENDING = "pending"
    POSTING = "posting"
    POSTED = "posted"
    SKIPPED = "skipped"


class Answer(StrEnum):
    ATTENDING = "attending"
    DEPUTY = "deputy"
    ABSENT = "absent"


class MeetingRuleRow(SQLModel, table=True):
    """A rule as it was set; the newest row is the one in force."""

    __tablename__ = "meeting_rules"

    id: int | None = Field(default=None, primary_key=True)
    text: str
    source: str  # "chat" or "settings"
    set_by_id: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = utc_column(nullable=False)


class Meeting(SQLModel, table=True):
    """One occurrence: when the rule put it, when it really starts, and whether it holds."""

    __tablename__ = "meetings"
    __table_args__ = (UniqueConstraint("rule_id", "planned_at", name="uq_meetings_rule_date"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="meeting_rules.id")
    planned_at: datetime = utc_column(nullable=False)
    starts_at: datetime = utc_column(nullable=False, index=True)
    venue: str
    moved: bool = False
    cancelled: bool = False
    revision: int = 1
    created_at: datetime = utc_column(nullable=False)


class MeetingReminder(SQLModel, table=True):
    """One reminder of one meeting, posted once at `due_at` (or late, or skipped)."""

    __tablename__ = "meeting_reminders"
    __table_args__ = (
        UniqueConstraint("meeting_id", "offset_minutes", name="uq_reminders_meeting_offset"),
        Index("ix_meeting_reminders_due", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    offset_minutes: int
    due_at: datetime = utc_column(nullable=False)
    status: str = Field(default=ReminderStatus.PENDING)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column()
    claimed_at: datetime | None = utc_column()
    late: bool = False
    with_report: bool = False
    note: str | None = None
    chat_id: int | None = big_int()
    message_id: int | None = None
    shown_revision: int = 0
    posted_at: datetime | None = utc_column()
    report_message_id: int | None = None
    report_attempts: int = 0


class MeetingAnswer(SQLModel, table=True):
    """An organisation's answer to one meeting; the latest answer replaces the earlier."""

    __tablename__ = "meeting_answers"
    __table_args__ = (
        UniqueConstraint("meeting_id", "organisation", name="uq_answers_meeting_org"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    organisation: str
    answer: str
    member_id: int = Field(foreign_key="members.id")
    answered_at: datetime = utc_column(nullable=False)


class AgendaItem(SQLModel, table=True):
    __tablename__ = "agenda_items"

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    text: str = Field(sa_column=Column(Text(), nullable=False))
    added_by_id: int | None = Field(default=None, foreign_key="members.id")
    added_at: datetime = utc_column(nullable=False)


@dataclass
class MeetingView:
    """A meeting with what a reminder or /meeting shows about it."""

    meeting: Meeting
    agenda: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)
    organisations: list[str] = field(default_factory=list)

    @property
    def unanswered(self) -> list[str]:
        return [org for org in self.organisations if org not in self.answers]


class MeetingStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the rule and its occurrences -----------------------------------------------------

    def current_rule(self) -> MeetingRuleRow | None:
        with session_scope(self.engine) as session:
            query = select(MeetingRuleRow).order_by(col(MeetingRuleRow.id).desc())
            return session.exec(query).first()

    def set_rule(
        self, text: str, source: str, member_id: int | None, now: datetime
    ) -> tuple[MeetingRuleRow, int | None]:
        """Put a new rule in force; the upcoming meeting of the old one is cancelled.

        Returns the rule and the cancelled meeting (whose agenda the next meeting inherits).
        """
        with session_scope(self.engine) as session:
            rule = MeetingRuleRow(text=text, source=source, set_by_id=member_id, created_at=now)
            session.add(rule)
            session.flush()
            _audit(session, now, member_id, "meeting.rule", None, {"rule": text, "from": source})
            replaced = session.exec(
                select(Meeting.id).where(
                    col(Meeting.starts_at) > now, col(Meeting.cancelled).is_(False)
                )
            ).all()
            for meeting_id in replaced:
                assert meeting_id is not None
                self._cancel(session, meeting_id, "the rule changed")
            return rule, replaced[0] if replaced else None

    def upcoming(self, rule_id: int, now: datetime) -> Meeting | None:
        """The next meeting of the rule that still holds."""
        with session_scope(self.engine) as session:
            query = (
                select(Meeting)
                .where(
                    Meeting.rule_id == rule_id,
                    col(Meeting.starts_at) > now,
                    col(Meeting.cancelled).is_(False),
                )
                .order_by(col(Meeting.starts_at))
            )
            return session.exec(query).first()

    def plan(
        self,
        rule_id: int,
        starts_at: datetime,
        venue: str,
        reminders: Sequence[tuple[int, datetime]],
        now: datetime,
        inherit_agenda_from: int | None = None,
    ) -> Meeting:
        """The rule's meeting at `starts_at`, created if it is new with its reminders, given
        as (minutes before, due time), longest first.

        A reminder whose time has already passed when the meeting is planned is skipped.
        """
        try:
            with session_scope(self.engine) as session:
                found = _planned(session, rule_id, starts_at)
                if found is not None:
                    return found
                meeting = Meeting(
                    rule_id=rule_id,
                    planned_at=starts_at,
                    starts_at=starts_at,
                    venue=venue,
                    created_at=now,
                )
                session.add(meeting)
                session.flush()
                assert meeting.id is not None
                session.add_all(_reminder_rows(meeting.id, reminders, now))
                if inherit_agenda_from is not None:
                    _move_agenda(session, inherit_agenda_from, meeting.id)
                return meeting
        except IntegrityError:  # another process planned the same meeting first
            with session_scope(self.engine) as session:
                return session.exec(_planned_query(rule_id, starts_at)).one()

    def get(self, meeting_id: int) -> Meeting | None:
        with session_scope(self.engine) as session:
            return session.get(Meeting, meeting_id)

    def move(
        self,
        meeting_id: int,
        starts_at: datetime,
        dues: dict[int, datetime],
        now: datetime,
        member_id: int | None = None,
    ) -> bool:
        """Move one meeting; its reminders not yet posted take their new times from `dues`
        (by minutes before), and any of those already past are skipped."""
        with session_scope(self.engine) as session:
            moved = session.execute(
                update(Meeting)
                .where(col(Meeting.id) == meeting_id, col(Meeting.cancelled).is_(False))
                .values(starts_at=starts_at, moved=True, revision=Meeting.revision + 1)
            )
            if rows_changed(moved) != 1:
                return False
            _audit(
                session,
                now,
                member_id,
                "meeting.move",
                meeting_id,
                {"starts_at": starts_at.isoformat()},
            )
            pending = session.exec(
                select(MeetingReminder).where(
                    MeetingReminder.meeting_id == meeting_id,
                    MeetingReminder.status == ReminderStatus.PENDING,
                )
            ).all()
            for reminder in pending:
                # Reminders planned under earlier offsets keep theirs, counted from the new time.
                fallback = starts_at - timedelta(minutes=reminder.offset_minutes)
                reminder.due_at = dues.get(reminder.offset_minutes, fallback)
                reminder.next_attempt_at = None
                if reminder.due_at <= now:
                    reminder.status = ReminderStatus.SKIPPED
                    reminder.note = "the meeting moved past it"
                session.add(reminder)
            return True

    def cancel(
        self, meeting_id: int, now: datetime | None = None, member_id: int | None = None
    ) -> bool:
        """Cancel one meeting; its reminders not yet posted are skipped."""
        with session_scope(self.engine) as session:
            cancelled = self._cancel(session, meeting_id, "the meeting was cancelled")
            if cancelled and now is not None:
                _audit(session, now, member_id, "meeting.cancel", meeting_id, None)
            return cancelled

    def _cancel(self, session: Session, meeting_id: int, note: str) -> bool:
        cancelled = session.execute(
            update(Meeting)
            .where(col(Meeting.id) == meeting_id, col(Meeting.cancelled).is_(False))
            .values(cancelled=True, revision=Meeting.revision + 1)
        )
        session.execute(
            update(MeetingReminder)
            .where(
                col(MeetingReminder.meeting_id) == meeting_id,
                col(MeetingReminder.status) == ReminderStatus.PENDING,
            )
            .values(status=ReminderStatus.SKIPPED, note=note)
        )
        return rows_changed(cancelled) == 1

    # -- reminders ------------------------------------------------------------------------

    def reminders(self, meeting_id: int) -> list[MeetingReminder]:
        with session_scope(self.engine) as session:
            query = select(MeetingReminder).where(MeetingReminder.meeting_id == meeting_id)
            return list(session.exec(query.order_by(col(MeetingReminder.due_at))))

    def due_reminders(self, now: datetime) -> list[MeetingReminder]:
        """Reminders to post now, oldest first: due and not waiting for a retry, or stale."""
        with session_scope(self.engine) as session:
            query = select(MeetingReminder).where(_due(now)).order_by(col(MeetingReminder.due_at))
            return list(session.exec(query))

    def claim(self, reminder_id: int, now: datetime) -> bool:
        """Take a due reminder for posting; exactly one caller gets True."""
        with session_scope(self.engine) as session:
            taken = session.execute(
                update(MeetingReminder)
                .where(col(MeetingReminder.id) == reminder_id, _due(now))
                .values(
                    status=ReminderStatus.POSTING,
                    claimed_at=now,
                    attempts=MeetingReminder.attempts + 1,
                )
            )
            return rows_changed(taken) == 1

    def skip(self, reminder_id: int, note: str) -> bool:
        """Skip a reminder that is not yet posted; False if it already was."""
        with session_scope(self.engine) as session:
            skipped = session.execute(
                update(MeetingReminder)
                .where(
                    col(MeetingReminder.id) == reminder_id,
                    col(MeetingReminder.status).in_(
                        (ReminderStatus.PENDING, ReminderStatus.POSTING)
                    ),
                )
                .values(status=ReminderStatus.SKIPPED, note=note, claimed_at=None)
            )
            return rows_changed(skipped) == 1

    def record_posted(
        self,
        reminder_id: int,
        chat_id: int,
        message_id: int,
        revision: int,
        late: bool,
        now: datetime,
    ) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(MeetingReminder)
                .where(col(MeetingReminder.id) == reminder_id)
                .values(
                    status=ReminderStatus.POSTED,
                    chat_id=chat_id,
                    message_id=message_id,
                    shown_revision=revision,
                    late=late,
                    posted_at=now,
                    claimed_at=None,
                )
            )

    def defer(self, reminder_id: int, retry_at: datetime) -> None:
        """Put a claimed reminder back, to be tried again at `retry_at`."""
        with session_scope(self.engine) as session:
            session.execute(
                update(MeetingReminder)
                .where(col(MeetingReminder.id) == reminder_id)
                .values(status=ReminderStatus.PENDING, next_attempt_at=retry_at, claimed_at=None)
            )

    def stale_tallies(self) -> list[tuple[MeetingReminder, int]]:
        """The latest posted reminder of each meeting whose message is behind its meeting."""
        with session_scope(self.engine) as session:
            latest = (
                select(func.max(MeetingReminder.id))
                .where(MeetingReminder.status == ReminderStatus.POSTED)
                .group_by(col(MeetingReminder.meeting_id))
            )
            rows = session.exec(
                select(MeetingReminder, Meeting.revision)
                .join(Meeting, col(MeetingReminder.meeting_id) == Meeting.id)
                .where(
                    col(MeetingReminder.id).in_(latest),
                    col(MeetingReminder.shown_revision) < Meeting.revision,
                )
            ).all()
            return [(reminder, revision) for reminder, revision in rows]

    def record_shown(self, reminder_id: int, revision: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(MeetingReminder)
                .where(col(MeetingReminder.id) == reminder_id)
                .values(shown_revision=revision)
            )

    def reports_due(self, max_attempts: int) -> list[MeetingReminder]:
        """Posted reminders that carry the month's report and have not got it yet."""
        with session_scope(self.engine) as session:
            query = select(MeetingReminder).where(
                MeetingReminder.status == ReminderStatus.POSTED,
                col(MeetingReminder.with_report).is_(True),
                col(MeetingReminder.report_message_id).is_(None),
                col(MeetingReminder.report_attempts) < max_attempts,
            )
            return list(session.exec(query.order_by(col(MeetingReminder.id))))

    def record_report(self, reminder_id: int, message_id: int | None) -> None:
        """Remember the report's message, or count a failed attempt when there is none."""
        with session_scope(self.engine) as session:
            session.execute(
                update(MeetingReminder)
                .where(col(MeetingReminder.id) == reminder_id)
                .values(
                    report_message_id=message_id,
                    report_attempts=MeetingReminder.report_attempts + 1,
                )
            )

    # -- answers and agenda ---------------------------------------------------------------

    def answer(
        self, meeting_id: int, organisation: str, answer: str, member_id: int, now: datetime
    ) -> bool:
        """Record an organisation's answer; False when it had already given that answer."""
        with session_scope(self.engine) as session:
            row = session.exec(
                select(MeetingAnswer).where(
                    MeetingAnswer.meeting_id == meeting_id,
                    MeetingAnswer.organisation == organisation,
                )
            ).first()
            if row is not None and row.answer == answer:
                return False
            row = row or MeetingAnswer(
                meeting_id=meeting_id,
                organisation=organisation,
                answer=answer,
                member_id=member_id,
                answered_at=now,
            )
            row.answer, row.member_id, row.answered_at = answer, member_id, now
            session.add(row)
            _bump(session, meeting_id)
            after = {"organisation": organisation, "answer": answer}
            _audit(session, now, member_id, "meeting.answer", meeting_id, after)
            return True

    def add_agenda(self, meeting_id: int, text: str, member_id: int, now: datetime) -> int:
        """Add an item to a meeting's agenda; returns how many items it has now."""
        with session_scope(self.engine) as session:
            session.add(
                AgendaItem(meeting_id=meeting_id, text=text, added_by_id=member_id, added_at=now)
            )
            _bump(session, meeting_id)
            _audit(session, now, member_id, "meeting.agenda", meeting_id, {"item": text})
            session.flush()
            count = session.exec(
                select(func.count()).where(AgendaItem.meeting_id == meeting_id)
            ).one()
            return int(count)

    def view(self, meeting_id: int) -> MeetingView | None:
        with session_scope(self.engine) as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None:
                return None
            agenda = session.exec(
                select(AgendaItem.text)
                .where(AgendaItem.meeting_id == meeting_id)
                .order_by(col(AgendaItem.id))
            ).all()
            answers = session.exec(
                select(MeetingAnswer.organisation, MeetingAnswer.answer).where(
                    MeetingAnswer.meeting_id == meeting_id
                )
            ).all()
            organisations = session.exec(  # those with someone on the roster now
                select(Member.organisation)
                .where(col(Member.active).is_(True))
                .distinct()
                .order_by(col(Member.organisation))
            ).all()
            return MeetingView(
                meeting,
                list(agenda),
                {org: answer for org, answer in answers},
                list(organisations),
            )


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            col(MeetingReminder.status) == ReminderStatus.PENDING,
            col(MeetingReminder.due_at) <= now,
            or_(
                col(MeetingReminder.next_attempt_at).is_(None),
                col(MeetingReminder.next_attempt_at) <= now,
            ),
        ),
        and_(
            col(MeetingReminder.status) == ReminderStatus.POSTING,
            col(MeetingReminder.claimed_at) <= now - STALE_CLAIM,
        ),
    )


def _bump(session: Session, meeting_id: int) -> None:
    session.execute(
        update(Meeting).where(col(Meeting.id) == meeting_id).values(revision=Meeting.revision + 1)
    )


def _planned_query(rule_id: int, starts_at: datetime) -> SelectOfScalar[Meeting]:
    return select(Meeting).where(Meeting.rule_id == rule_id, Meeting.planned_at == starts_at)


def _planned(session: Session, rule_id: int, starts_at: datetime) -> Meeting | None:
    return session.exec(_planned_query(rule_id, starts_at)).first()


def _reminder_rows(
    meeting_id: int, reminders: Sequence[tuple[int, datetime]], now: datetime
) -> list[MeetingReminder]:
    """The meeting's reminders; the first carries the report, any already past is skipped."""
    return [
        MeetingReminder(
            meeting_id=meeting_id,
            offset_minutes=minutes,
            due_at=due,
            status=ReminderStatus.PENDING if due > now else ReminderStatus.SKIPPED,
            note=None if due > now else "planned after it was due",
            with_report=index == 0,
        )
        for index, (minutes, due) in enumerate(reminders)
    ]


def _move_agenda(session: Session, from_meeting: int, to_meeting: int) -> None:
    session.execute(
        update(AgendaItem)
        .where(col(AgendaItem.meeting_id) == from_meeting)
        .values(meeting_id=to_meeting)
    )


def _audit(
    session: Session,
    now: datetime,
    member_id: int | None,
    action: str,
    meeting_id: int | None,
    after: dict[str, Any] | None,
) -> None:
    """Append a meeting change to the audit log, in the change's own transaction."""
    target = f"meeting {meeting_id}" if meeting_id is not None else "meeting rule"
    if member_id is None:
        audit.record(session, now, audit.Actor("settings"), action, target, None, after)
    else:
        audit.record_by_member(session, now, member_id, action, target, None, after)
