"""The outboxes: SMS to send and group lines to post, each claimed before it goes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, or_, update
from sqlmodel import Session, col, select

from storage.db import session_scope
from storage.models import (
    Alert,
    AlertState,
    Delivery,
    GroupPost,
    Member,
    Notification,
    SmsAttempt,
)

# A claim older than this belongs to a sender that died mid-call: the SMS is sent again.
STALE_CLAIM = timedelta(minutes=2)
# A step's group line waits this long, at most, for the first answer to each of its SMS.
LINE_WAITS_FOR_SMS = timedelta(seconds=30)


@dataclass(frozen=True)
class SmsResult:
    outcome: str  # "sent", "failed" or "retry"
    provider_id: str | None = None
    error_code: int | None = None
    detail: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class StepDelivery:
    """What became of one SMS of a step, for the group line and /status."""

    name: str
    status: str
    error_code: int | None


class OutboxStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim_sms(
        self, now: datetime, limit: int = 200, alert_id: int | None = None
    ) -> list[Notification]:
        """Take due SMS (of one alert, or all) for sending; each goes to exactly one caller.

        One conditional UPDATE ... RETURNING claims the whole batch. The sweep (no alert
        given) first cancels pages of alerts that stopped waiting: a retry must not page
        someone about an alert that was acknowledged meanwhile.
        """
        if alert_id is None:
            self._cancel_stopped(now)
        due = or_(
            and_(
                col(Notification.status) == Delivery.PENDING,
                col(Notification.next_attempt_at) <= now,
            ),
            and_(
                col(Notification.status) == Delivery.SENDING,
                col(Notification.claimed_at) <= now - STALE_CLAIM,
            ),
        )
        if alert_id is not None:
            due = and_(due, col(Notification.alert_id) == alert_id)
        batch = select(Notification.id).where(due).order_by(col(Notification.id)).limit(limit)
        claim = (
            update(Notification)
            .where(col(Notification.id).in_(batch.scalar_subquery()), due)
            .values(status=Delivery.SENDING, claimed_at=now, attempts=Notification.attempts + 1)
            .returning(Notification)
            .execution_options(synchronize_session=False)
        )
        with session_scope(self.engine) as session:
            return sorted(session.scalars(claim), key=lambda n: n.id or 0)

    def _cancel_stopped(self, now: datetime) -> None:
        stopped = select(Alert.id).where(col(Alert.state) != AlertState.WAITING)
        unsent = or_(
            col(Notification.status) == Delivery.PENDING,
            and_(
                col(Notification.status) == Delivery.SENDING,
                col(Notification.claimed_at) <= now - STALE_CLAIM,
            ),
        )
        with session_scope(self.engine) as session:
            session.execute(
                update(Notification)
                .where(unsent, col(Notification.alert_id).in_(stopped))
                .values(status=Delivery.CANCELLED, next_attempt_at=None, claimed_at=None)
            )

    def record_sms(self, notification: Notification, result: SmsResult, now: datetime) -> None:
        """Store one provider answer and move the SMS on: sent, failed, or due again later."""
        status = {"sent": Delivery.SENT, "failed": Delivery.FAILED}.get(
            result.outcome, Delivery.PENDING
        )  # a retry of a page whose alert has stopped waiting is cancelled at the next claim
        assert notification.id is not None
        with session_scope(self.engine) as session:
            session.add(
                SmsAttempt(
                    notification_id=notification.id,
                    attempt=notification.attempts,
                    at=now,
                    outcome=result.outcome,
                    provider_id=result.provider_id,
                    error_code=result.error_code,
                    detail=result.detail,
                )
            )
            session.execute(
                update(Notification)
                .where(col(Notification.id) == notification.id)
                .values(
                    status=status,
                    claimed_at=None,
                    next_attempt_at=result.retry_at,
                    provider_id=result.provider_id,
                    error_code=result.error_code,
                    error_message=result.detail,
                    sent_at=now if status == Delivery.SENT else None,
                )
            )

    def next_sms_due(self) -> datetime | None:
        """When the earliest SMS waiting for a retry falls due."""
        with session_scope(self.engine) as session:
            query = select(Notification.next_attempt_at).where(
                Notification.status == Delivery.PENDING
            )
            return session.exec(query.order_by(col(Notification.next_attempt_at))).first()

    def due_posts(self, now: datetime, limit: int = 50) -> list[GroupPost]:
        """Group lines ready to post: due, and their step's SMS have had a first answer."""
        query = select(GroupPost).where(
            GroupPost.status == Delivery.PENDING, col(GroupPost.next_attempt_at) <= now
        )
        with session_scope(self.engine) as session:
            posts = session.exec(query.order_by(col(GroupPost.id)).limit(limit)).all()
            return [post for post in posts if self._ready(session, post, now)]

    def _ready(self, session: Session, post: GroupPost, now: datetime) -> bool:
        if post.step is None or post.created_at <= now - LINE_WAITS_FOR_SMS:
            return True
        unanswered = session.exec(
            select(Notification.id).where(
                Notification.alert_id == post.alert_id,
                Notification.step == post.step,
                or_(col(Notification.attempts) == 0, col(Notification.status) == Delivery.SENDING),
            )
        ).first()
        return unanswered is None

    def step_deliveries(self, alert_id: int, step: int) -> list[StepDelivery]:
        with session_scope(self.engine) as session:
            rows = session.exec(
                select(Member.name, Notification.status, Notification.error_code)
                .join(Member, col(Notification.member_id) == Member.id)
                .where(Notification.alert_id == alert_id, Notification.step == step)
                .order_by(col(Notification.id))
            ).all()
        return [StepDelivery(name, status, code) for name, status, code in rows]

    def mark_posted(self, post_id: int, message_id: int, now: datetime) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(GroupPost)
                .where(col(GroupPost.id) == post_id)
                .values(
                    status=Delivery.SENT,
                    message_id=message_id,
                    sent_at=now,
                    attempts=GroupPost.attempts + 1,
                )
            )

    def defer_post(self, post_id: int, retry_at: datetime) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(GroupPost)
                .where(col(GroupPost.id) == post_id)
                .values(next_attempt_at=retry_at, attempts=GroupPost.attempts + 1)
            )

    def add_post(self, text: str, now: datetime, alert_id: int | None = None) -> None:
        """Queue a plain line for the group."""
        with session_scope(self.engine) as session:
            session.add(
                GroupPost(alert_id=alert_id, text=text, created_at=now, next_attempt_at=now)
            )
