"""Roster queries: who people are, how to reach them, and who is on duty."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select

from storage import audit
from storage.audit import Actor
from storage.db import rows_changed, session_scope
from storage.models import ChatSetting, Member, Role

TIER_ROLES = {
    "supervisors": (Role.SUPERVISOR,),
    "command": (Role.COMMAND,),
}
DUTY_ROLES = (Role.OFFICER, Role.SUPERVISOR, Role.COMMAND)


@dataclass(frozen=True)
class MemberRecord:
    """One roster entry as an import gives it, already checked and normalised."""

    name: str
    role: str
    organisation: str
    phone: str | None
    telegram_user_id: int | None
    telegram_username: str | None


class RosterStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(self, record: MemberRecord, now: datetime, actor: Actor | None = None) -> bool:
        """Add or update one member, matched by Telegram id, @username or phone.

        Returns True when the member is new. With an `actor`, the change is audited.
        """
        with session_scope(self.engine) as session:
            member = self._match(session, record)
            created = member is None
            before = None if member is None else member_snapshot(member)
            if member is None:
                member = Member(
                    name=record.name,
                    role=record.role,
                    organisation=record.organisation,
                    created_at=now,
                    updated_at=now,
                )
            member.name = record.name
            member.role = record.role
            member.organisation = record.organisation
            member.phone = record.phone or member.phone
            member.telegram_user_id = record.telegram_user_id or member.telegram_user_id
            member.telegram_username = record.telegram_username or member.telegram_username
            member.active = True
            member.updated_at = now
            session.add(member)
            session.flush()
            if actor is not None and member_snapshot(member) != before:
                target = f"member {member.id} ({member.name})"
                action = "roster.add" if created else "roster.update"
                audit.record(session, now, actor, action, target, before, member_snapshot(member))
            return created

    def _match(self, session: Session, record: MemberRecord) -> Member | None:
        conditions = []
        if record.telegram_user_id is not None:
            conditions.append(col(Member.telegram_user_id) == record.telegram_user_id)
        if record.telegram_username:
            conditions.append(col(Member.telegram_username) == record.telegram_username)
        if record.phone:
            conditions.append(col(Member.phone) == record.phone)
        if not conditions:
            return None
        return session.exec(select(Member).where(or_(*conditions))).first()

    def members(self) -> list[Member]:
        with session_scope(self.engine) as session:
            query = (
                select(Member)
                .where(col(Member.active).is_(True))
                .order_by(col(Member.organisation), col(Member.name))
            )
            return list(session.exec(query))

    def get(self, member_id: int) -> Member | None:
        with session_scope(self.engine) as session:
            return session.get(Member, member_id)

    def identify(self, user_id: int, username: str | None, now: datetime) -> Member | None:
        """The member behind a Telegram user; links an @username-only entry on first sight."""
        with session_scope(self.engine) as session:
            active = col(Member.active).is_(True)
            member = session.exec(
                select(Member).where(Member.telegram_user_id == user_id, active)
            ).first()
            if member is not None or not username:
                return member
            member = session.exec(
                select(Member).where(
                    Member.telegram_username == username.lower(),
                    col(Member.telegram_user_id).is_(None),
                    active,
                )
            ).first()
            if member is not None:
                member.telegram_user_id = user_id
                member.updated_at = now
                session.add(member)
                target = f"member {member.id} ({member.name})"
                after = {"telegram_user_id": user_id}
                actor = Actor(member.name, member.id)
                audit.record(session, now, actor, "roster.link", target, None, after)
            return member

    def set_on_duty(self, member_id: int, on_duty: bool, now: datetime) -> bool:
        """Put a member on or off duty; False if they already were."""
        with session_scope(self.engine) as session:
            changed = session.execute(
                update(Member)
                .where(col(Member.id) == member_id, col(Member.on_duty) != on_duty)
                .values(on_duty=on_duty, on_duty_since=now if on_duty else None, updated_at=now)
            )
            return rows_changed(changed) == 1

    def on_duty(self) -> list[Member]:
        with session_scope(self.engine) as session:
            query = select(Member).where(
                col(Member.on_duty).is_(True),
                col(Member.role).in_(DUTY_ROLES),
                col(Member.active).is_(True),
            )
            return list(session.exec(query.order_by(col(Member.on_duty_since))))

    def tier(self, tier: str) -> list[Member]:
        """Everyone a step for `tier` pages: on_duty, supervisors or command."""
        if tier == "on_duty":
            return self.on_duty()
        with session_scope(self.engine) as session:
            query = select(Member).where(
                col(Member.role).in_(TIER_ROLES[tier]), col(Member.active).is_(True)
            )
            return list(session.exec(query.order_by(col(Member.name))))

    def get_setting(self, key: str) -> str | None:
        with session_scope(self.engine) as session:
            row = session.get(ChatSetting, key)
            return row.value if row else None

    def put_setting(self, key: str, value: str, now: datetime) -> None:
        with session_scope(self.engine) as session:
            row = session.get(ChatSetting, key) or ChatSetting(
                key=key, value=value, updated_at=now
            )
            row.value = value
            row.updated_at = now
            session.add(row)


def member_snapshot(member: Member) -> dict[str, object]:
    """A member as the audit trail records them."""
    return {
        "name": member.name,
        "role": member.role,
        "organisation": member.organisation,
        "phone": member.phone,
        "telegram_user_id": member.telegram_user_id,
        "telegram_username": member.telegram_username,
        "active": member.active,
    }
