"""Vigil's tables. Times are stored in UTC and always come back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index, Text, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime column that refuses naive values and restores UTC that SQLite drops."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(nullable: bool = True, index: bool = False) -> Any:
    """A Field for a UTC time column."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


def big_int(nullable: bool = True, unique: bool = False) -> Any:
    """A Field for a Telegram id, which can exceed 32 bits."""
    return Field(default=None, sa_column=Column(BigInteger(), nullable=nullable, unique=unique))


class Role(StrEnum):
    CONSULATE = "consulate"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    COMMAND = "command"
    ADMIN = "admin"


class Level(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    NORMAL = "normal"


class AlertState(StrEnum):
    WAITING = "waiting"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    RAISED = "raised"
    STEP = "step"
    ACKNOWLEDGED = "acknowledged"
    RESPONDED = "responded"
    RESOLVED = "resolved"


class Delivery(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the alert stopped waiting before this page could go out


class Member(SQLModel, table=True):
    __tablename__ = "members"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    role: str = Field(index=True)
    organisation: str
    phone: str | None = Field(default=None, unique=True)
    telegram_user_id: int | None = big_int(unique=True)
    telegram_username: str | None = Field(default=None, unique=True)
    on_duty: bool = Field(default=False)
    active: bool = Field(default=True)
    on_duty_since: datetime | None = utc_column()
    created_at: datetime = utc_column(nullable=False)
    updated_at: datetime = utc_column(nullable=False)


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("source_chat_id", "source_message_id", name="uq_alerts_source"),
        Index("ix_alerts_escalation", "state", "next_step_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    level: str
    text: str = Field(sa_column=Column(Text(), nullable=False))
    state: str = Field(default=AlertState.WAITING)
    reporter_id: int = Field(foreign_key="members.id")
    organisation: str
    raised_at: datetime = utc_column(nullable=False)
    source_chat_id: int = big_int(nullable=False)
    source_message_id: int
    next_step: int = 0
    next_step_due_at: datetime | None = utc_column()
    steps_run: int = 0
    acknowledged_by_id: int | None = Field(default=None, foreign_key="members.id")
    acknowledged_at: datetime | None = utc_column()
    resolved_by_id: int | None = Field(default=None, foreign_key="members.id")
    resolved_at: datetime | None = utc_column()
    resolution_note: str | None = None
    revision: int = 1
    card_chat_id: int | None = big_int()
    card_message_id: int | None = None
    card_revision: int = 0
    card_retry_at: datetime | None = utc_column()


class AlertEvent(SQLModel, table=True):
    __tablename__ = "alert_events"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    at: datetime = utc_column(nullable=False)
    kind: str
    actor_id: int | None = Field(default=None, foreign_key="members.id")
    step: int | None = None
    tier: str | None = None
    note: str | None = None


class Notification(SQLModel, table=True):
    """One SMS to one person for one escalation step: the SMS outbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("alert_id", "step", "member_id", name="uq_notifications_step_member"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    step: int
    member_id: int = Field(foreign_key="members.id")
    phone: str
    body: str = Field(sa_column=Column(Text(), nullable=False))
    status: str = Field(default=Delivery.PENDING)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column()
    claimed_at: datetime | None = utc_column()
    provider_id: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    created_at: datetime = utc_column(nullable=False)
    sent_at: datetime | None = utc_column()


class SmsAttempt(SQLModel, table=True):
    """Every call to the SMS provider, with what it answered."""

    __tablename__ = "sms_attempts"

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notifications.id", index=True)
    attempt: int
    at: datetime = utc_column(nullable=False)
    outcome: str
    provider_id: str | None = None
    error_code: int | None = None
    detail: str | None = None


class GroupPost(SQLModel, table=True):
    """A line the group must see (an escalation step, a warning): the Telegram outbox."""

    __tablename__ = "group_posts"
    __table_args__ = (Index("ix_group_posts_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int | None = Field(default=None, foreign_key="alerts.id", index=True)
    step: int | None = None
    text: str = Field(default="", sa_column=Column(Text(), nullable=False))
    status: str = Field(default=Delivery.PENDING)
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column()
    message_id: int | None = None
    created_at: datetime = utc_column(nullable=False)
    sent_at: datetime | None = utc_column()


class ChatSetting(SQLModel, table=True):
    """Small facts the bot learns at run time, such as the group's id after a migration."""

    __tablename__ = "chat_settings"

    key: str = Field(primary_key=True)
    value: str
    updated_at: datetime = utc_column(nullable=False)
