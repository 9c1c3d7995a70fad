"""The audit trail: one append-only row per change, made through the bot or the command line.

Rows are only ever inserted; the migration adds database triggers that refuse UPDATE and
DELETE, so not even a stray query can rewrite history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Engine, Text
from sqlmodel import Field, Session, SQLModel, col, select

from storage.db import session_scope
from storage.models import Member, utc_column


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_column(nullable=False, index=True)
    actor: str
    actor_member_id: int | None = None
    action: str
    target: str
    before: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))


@dataclass(frozen=True)
class Actor:
    """Who made a change: a roster member, or someone at the command line."""

    name: str
    member_id: int | None = None

    @classmethod
    def of(cls, member: Member) -> Actor:
        return cls(member.name, member.id)

    @classmethod
    def command_line(cls, user: str) -> Actor:
        return cls(f"command line ({user})")

    @property
    def label(self) -> str:
        return f"{self.name} (member {self.member_id})" if self.member_id else self.name


def record(
    session: Session,
    at: datetime,
    actor: Actor,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one entry inside the caller's transaction, so it stands or falls with the change."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor.label,
            actor_member_id=actor.member_id,
            action=action,
            target=target,
            before=_json(before),
            after=_json(after),
        )
    )


def record_by_member(
    session: Session,
    at: datetime,
    member_id: int,
    action: str,
    target: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append one entry made by the member `member_id`, inside the caller's transaction."""
    member = session.get(Member, member_id)
    actor = Actor(member.name if member else "unknown member", member_id)
    record(session, at, actor, action, target, before, after)


def _json(values: dict[str, Any] | None) -> str | None:
    return None if values is None else json.dumps(values, sort_keys=True, default=str)


class AuditStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(
        self,
        at: datetime,
        actor: Actor,
        action: str,
        target: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        with session_scope(self.engine) as session:
            record(session, at, actor, action, target, before, after)

    def entries(self, since: datetime | None = None) -> list[AuditEntry]:
        """Every entry, oldest first; from `since` on when given."""
        with session_scope(self.engine) as session:
            query = select(AuditEntry)
            if since is not None:
                query = query.where(col(AuditEntry.at) >= since)
            return list(session.exec(query.order_by(col(AuditEntry.id))))
