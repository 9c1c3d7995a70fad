"""Alert rows and their timeline: every change is a conditional update plus an event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.audit import record_by_member
from storage.db import rows_changed, session_scope
from storage.directory import Organisation
from storage.models import (
    Alert,
    AlertEvent,
    AlertState,
    EventKind,
    GroupPost,
    Member,
    Notification,
    SmsAttempt,
)

OPEN_STATES = (AlertState.WAITING, AlertState.ACKNOWLEDGED)


class Outcome(StrEnum):
    DONE = "done"
    ALREADY_YOURS = "already_yours"
    RESPONDER = "responder"
    ALREADY_RESPONDING = "already_responding"
    ALREADY_RESOLVED = "already_resolved"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class PlannedSms:
    member_id: int
    phone: str
    body: str


@dataclass(frozen=True)
class StepClaim:
    """What one run of escalation step `step` writes if it wins the claim."""

    alert_id: int
    step: int
    tier: str
    next_step_due_at: datetime | None
    sms: Sequence[PlannedSms]
    group_line: str
    note: str | None = None


@dataclass
class AlertView:
    """An alert with the people around it, as the card and /status show it."""

    alert: Alert
    reporter: Member
    acknowledged_by: Member | None = None
    resolved_by: Member | None = None
    responders: list[str] = field(default_factory=list)
    last_tier: str | None = None
    place: Organisation | None = None  # the reporter's organisation: address and map point


@dataclass(frozen=True)
class TimelineEntry:
    event: AlertEvent
    actor_name: str | None
    sms: list[tuple[Notification, str]]  # (notification, recipient's name) for step events


class AlertStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def raise_alert(
        self,
        *,
        reporter: Member,
        level: str,
        text: str,
        now: datetime,
        first_step_due_at: datetime | None,
        source_chat_id: int,
        source_message_id: int,
    ) -> tuple[Alert, bool]:
        """Store a new alert; a redelivered command returns the first alert and False."""
        assert reporter.id is not None
        alert = Alert(
            level=level,
            text=text,
            reporter_id=reporter.id,
            organisation=reporter.organisation,
            raised_at=now,
            source_chat_id=source_chat_id,
            source_message_id=source_message_id,
            next_step_due_at=first_step_due_at,
        )
        try:
            with session_scope(self.engine) as session:
                session.add(alert)
                session.flush()
                assert alert.id is not None
                session.add(
                    AlertEvent(
                        alert_id=alert.id, at=now, kind=EventKind.RAISED, actor_id=reporter.id
                    )
                )
                after = {"level": level, "text": text}
                record_by_member(
                    session, now, reporter.id, "alert.raise", f"alert #{alert.id}", None, after
                )
            return alert, True
        except IntegrityError:
            return self._by_source(source_chat_id, source_message_id), False

    def _by_source(self, chat_id: int, message_id: int) -> Alert:
        with session_scope(self.engine) as session:
            query = select(Alert).where(
                Alert.source_chat_id == chat_id, Alert.source_message_id == message_id
            )
            return session.exec(query).one()

    def get(self, alert_id: int) -> Alert | None:
        with session_scope(self.engine) as session:
            return session.get(Alert, alert_id)

    def open_alerts(self) -> list[Alert]:
        with session_scope(self.engine) as session:
            query = select(Alert).where(col(Alert.state).in_(OPEN_STATES)).order_by(col(Alert.id))
            return list(session.exec(query))

    def due_alerts(self, now: datetime, limit: int = 500) -> list[Alert]:
        """Waiting alerts whose next escalation step is due, oldest due first."""
        with session_scope(self.engine) as session:
            query = (
                select(Alert)
                .where(Alert.state == AlertState.WAITING, col(Alert.next_step_due_at) <= now)
                .order_by(col(Alert.next_step_due_at))
                .limit(limit)
            )
            return list(session.exec(query))

    def scheduled_alerts(self) -> list[tuple[int, int, datetime]]:
        """(alert id, next step, due time) of every waiting alert with a step ahead."""
        with session_scope(self.engine) as session:
            query = select(Alert.id, Alert.next_step, Alert.next_step_due_at).where(
                Alert.state == AlertState.WAITING, col(Alert.next_step_due_at).is_not(None)
            )
            return [(row[0] or 0, row[1], row[2]) for row in session.exec(query) if row[2]]

    def claim_step(self, claim: StepClaim, now: datetime) -> bool:
        """Run escalation step `claim.step` if the alert is still waiting at that step.

        One conditional update decides: if it changes the row, this call owns the step and
        writes its SMS, its group line and its timeline entry in the same transaction.
        """
        with session_scope(self.engine) as session:
            moved = session.execute(
                update(Alert)
                .where(
                    col(Alert.id) == claim.alert_id,
                    col(Alert.state) == AlertState.WAITING,
                    col(Alert.next_step) == claim.step,
                )
                .values(
                    next_step=claim.step + 1,
                    next_step_due_at=claim.next_step_due_at,
                    steps_run=Alert.steps_run + 1,
                    revision=Alert.revision + 1,
                )
            )
            if rows_changed(moved) != 1:
                return False
            session.add(
                AlertEvent(
                    alert_id=claim.alert_id,
                    at=now,
                    kind=EventKind.STEP,
                    step=claim.step,
                    tier=claim.tier,
                    note=claim.note,
                )
            )
            for sms in claim.sms:
                session.add(
                    Notification(
                        alert_id=claim.alert_id,
                        step=claim.step,
                        member_id=sms.member_id,
                        phone=sms.phone,
                        body=sms.body,
                        created_at=now,
                        next_attempt_at=now,
                    )
                )
            session.add(
                GroupPost(
                    alert_id=claim.alert_id,
                    step=claim.step,
                    text=claim.group_line,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
            return True

    def acknowledge(self, alert_id: int, member_id: int, now: datetime) -> Outcome:
        """Acknowledge a waiting alert; anyone after the first is recorded as a responder."""
        with session_scope(self.engine) as session:
            taken = session.execute(
                update(Alert)
                .where(col(Alert.id) == alert_id, col(Alert.state) == AlertState.WAITING)
                .values(
                    state=AlertState.ACKNOWLEDGED,
                    acknowledged_by_id=member_id,
                    acknowledged_at=now,
                    next_step_due_at=None,
                    revision=Alert.revision + 1,
                )
            )
            if rows_changed(taken) == 1:
                session.add(
                    AlertEvent(
                        alert_id=alert_id, at=now, kind=EventKind.ACKNOWLEDGED, actor_id=member_id
                    )
                )
                before, after = {"state": "waiting"}, {"state": "acknowledged"}
                target = f"alert #{alert_id}"
                record_by_member(
                    session, now, member_id, "alert.acknowledge", target, before, after
                )
                return Outcome.DONE
            return self._respond(session, alert_id, member_id, now)

    def _respond(self, session: Session, alert_id: int, member_id: int, now: datetime) -> Outcome:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return Outcome.NOT_FOUND
        if alert.state == AlertState.RESOLVED:
            return Outcome.ALREADY_RESOLVED
        if alert.acknowledged_by_id == member_id:
            return Outcome.ALREADY_YOURS
        earlier = session.exec(
            select(AlertEvent.id).where(
                AlertEvent.alert_id == alert_id,
                AlertEvent.kind == EventKind.RESPONDED,
                AlertEvent.actor_id == member_id,
            )
        ).first()
        if earlier is not None:
            return Outcome.ALREADY_RESPONDING
        session.add(
            AlertEvent(alert_id=alert_id, at=now, kind=EventKind.RESPONDED, actor_id=member_id)
        )
        session.execute(
            update(Alert).where(col(Alert.id) == alert_id).values(revision=Alert.revision + 1)
        )
        after = {"responding": True}
        record_by_member(
            session, now, member_id, "alert.respond", f"alert #{alert_id}", None, after
        )
        return Outcome.RESPONDER

    def resolve(self, alert_id: int, member_id: int, now: datetime, note: str | None) -> Outcome:
        """Close an open alert; escalation stops with it."""
        with session_scope(self.engine) as session:
            closed = session.execute(
                update(Alert)
                .where(col(Alert.id) == alert_id, col(Alert.state).in_(OPEN_STATES))
                .values(
                    state=AlertState.RESOLVED,
                    resolved_by_id=member_id,
                    resolved_at=now,
                    resolution_note=note,
                    next_step_due_at=None,
                    revision=Alert.revision + 1,
                )
            )
            if rows_changed(closed) == 1:
                session.add(
                    AlertEvent(
                        alert_id=alert_id,
                        at=now,
                        kind=EventKind.RESOLVED,
                        actor_id=member_id,
                        note=note,
                    )
                )
                after = {"state": "resolved", "note": note}
                target = f"alert #{alert_id}"
                record_by_member(session, now, member_id, "alert.resolve", target, None, after)
                return Outcome.DONE
            exists = session.get(Alert, alert_id) is not None
            return Outcome.ALREADY_RESOLVED if exists else Outcome.NOT_FOUND

    def view(self, alert_id: int) -> AlertView | None:
        with session_scope(self.engine) as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                return None
            return self._view(session, alert)

    def open_views(self) -> list[AlertView]:
        with session_scope(self.engine) as session:
            query = select(Alert).where(col(Alert.state).in_(OPEN_STATES)).order_by(col(Alert.id))
            return [self._view(session, alert) for alert in session.exec(query)]

    def _view(self, session: Session, alert: Alert) -> AlertView:
        def member(member_id: int | None) -> Member | None:
            return session.get(Member, member_id) if member_id is not None else None

        responders = session.exec(
            select(Member.name)
            .join(AlertEvent, col(AlertEvent.actor_id) == Member.id)
            .where(AlertEvent.alert_id == alert.id, AlertEvent.kind == EventKind.RESPONDED)
            .order_by(col(AlertEvent.id))
        )
        last_tier = session.exec(
            select(AlertEvent.tier)
            .where(AlertEvent.alert_id == alert.id, AlertEvent.kind == EventKind.STEP)
            .order_by(col(AlertEvent.id).desc())
        ).first()
        reporter = member(alert.reporter_id)
        assert reporter is not None
        place = session.exec(
            select(Organisation).where(Organisation.name == alert.organisation)
        ).first()
        return AlertView(
            alert,
            reporter,
            member(alert.acknowledged_by_id),
            member(alert.resolved_by_id),
            list(responders),
            last_tier,
            place,
        )

    def timeline(self, alert_id: int) -> list[TimelineEntry]:
        """The alert's events in order, each escalation step with its SMS and their outcome."""
        with session_scope(self.engine) as session:
            events = session.exec(
                select(AlertEvent, Member.name)
                .join(Member, col(AlertEvent.actor_id) == Member.id, isouter=True)
                .where(AlertEvent.alert_id == alert_id)
                .order_by(col(AlertEvent.at), col(AlertEvent.id))
            ).all()
            sms = session.exec(
                select(Notification, Member.name)
                .join(Member, col(Notification.member_id) == Member.id)
                .where(Notification.alert_id == alert_id)
                .order_by(col(Notification.id))
            ).all()
        return [
            TimelineEntry(
                event,
                name,
                [
                    (n, who)
                    for n, who in sms
                    if event.kind == EventKind.STEP and n.step == event.step
                ],
            )
            for event, name in events
        ]

    def sms_attempts(self, notification_id: int) -> list[SmsAttempt]:
        with session_scope(self.engine) as session:
            query = select(SmsAttempt).where(SmsAttempt.notification_id == notification_id)
            return list(session.exec(query.order_by(col(SmsAttempt.id))))

    def record_card(
        self, alert_id: int, chat_id: int, message_id: int | None, revision: int
    ) -> None:
        """Remember which message shows the alert and which revision it shows."""
        with session_scope(self.engine) as session:
            session.execute(
                update(Alert)
                .where(col(Alert.id) == alert_id)
                .values(
                    card_chat_id=chat_id,
                    card_message_id=message_id,
                    card_revision=revision,
                    card_retry_at=None,
                )
            )

    def forget_cards_in(self, chat_id: int) -> int:
        """Open alerts whose card is in `chat_id` get a new card; return how many."""
        with session_scope(self.engine) as session:
            moved = session.execute(
                update(Alert)
                .where(col(Alert.card_chat_id) == chat_id, col(Alert.state).in_(OPEN_STATES))
                .values(card_message_id=None, card_revision=0, card_retry_at=None)
            )
            return rows_changed(moved)

    def defer_card(self, alert_id: int, retry_at: datetime) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(Alert).where(col(Alert.id) == alert_id).values(card_retry_at=retry_at)
            )

    def stale_cards(self, now: datetime, limit: int = 200) -> list[int]:
        """Alerts whose card is missing or behind the row, and not waiting for a retry."""
        with session_scope(self.engine) as session:
            query = (
                select(col(Alert.id))
                .where(
                    (col(Alert.card_message_id).is_(None))
                    | (col(Alert.card_revision) < col(Alert.revision)),
                    (col(Alert.card_retry_at).is_(None)) | (col(Alert.card_retry_at) <= now),
                )
                .order_by(col(Alert.id))
                .limit(limit)
            )
            return [alert_id for alert_id in session.exec(query) if alert_id is not None]
