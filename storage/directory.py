"""Organisations, invitations, the duty rota and its notices: who is who, and who is on when.

Every change a person makes here is written together with its audit entry, in one
transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Text,
    UniqueConstraint,
    delete,
    func,
    or_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from storage import audit
from storage.audit import Actor
from storage.db import rows_changed, session_scope
from storage.models import ChatSetting, Delivery, GroupPost, Member, Role, big_int, utc_column
from storage.roster import DUTY_ROLES
from storage.roster import member_snapshot as snapshot


class OrgKind(StrEnum):
    CONSULATE = "consulate"
    POLICE = "police"
    RANGERS = "rangers"
    OTHER = "other"


class Organisation(SQLModel, table=True):
    __tablename__ = "organisations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    kind: str
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None
    created_at: datetime = utc_column(nullable=False)
    updated_at: datetime = utc_column(nullable=False)


class Invite(SQLModel, table=True):
    """A single-use link that lets one person join the roster with a given role."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    role: str
    organisation: str
    created_by_id: int | None = Field(default=None, foreign_key="members.id")
    created_at: datetime = utc_column(nullable=False)
    expires_at: datetime = utc_column(nullable=False)
    opened_by_user_id: int | None = big_int()
    used_at: datetime | None = utc_column()
    used_by_id: int | None = Field(default=None, foreign_key="members.id")
    revoked_at: datetime | None = utc_column()


class Shift(SQLModel, table=True):
    """One line of the rota: a member, the days, and local start and end times."""

    __tablename__ = "shifts"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", index=True)
    days: str
    start: str
    end: str


class DutyOverride(SQLModel, table=True):
    """/onduty or /offduty, which beats the rota until the member's next shift boundary."""

    __tablename__ = "duty_overrides"

    member_id: int = Field(foreign_key="members.id", primary_key=True)
    on_duty: bool
    until: datetime | None = utc_column()
    set_at: datetime = utc_column(nullable=False)


class ShiftNotice(SQLModel, table=True):
    """One message to one person (a shift starting, nobody on duty, news for the admins).

    Written once, keyed by what it is about and when, and sent until it has gone.
    """

    __tablename__ = "shift_notices"
    __table_args__ = (
        UniqueConstraint("kind", "member_id", "at", name="uq_shift_notices_once"),
        Index("ix_shift_notices_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str
    member_id: int = Field(foreign_key="members.id")
    at: datetime = utc_column(nullable=False)
    text: str = Field(default="", sa_column=Column(Text(), nullable=False))
    status: str = Field(default=Delivery.PENDING)
    channel: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = utc_column()
    created_at: datetime = utc_column(nullable=False)
    sent_at: datetime | None = utc_column()


class PrivateChat(SQLModel, table=True):
    """A Telegram user who has opened a private chat with the bot, so it may write to them."""

    __tablename__ = "private_chats"

    telegram_user_id: int = Field(
        sa_column=Column(BigInteger(), primary_key=True, autoincrement=False)
    )
    opened_at: datetime = utc_column(nullable=False)


class InviteState(StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"
    ALREADY_MEMBER = "already_member"  # an invitation never changes an active member's role
    PHONE_TAKEN = "phone_taken"  # the shared number is someone else's on the roster


@dataclass(frozen=True)
class OrganisationRecord:
    name: str
    kind: str
    address: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class ShiftRecord:
    member_id: int
    days: str
    start: str
    end: str


@dataclass(frozen=True)
class NewNotice:
    kind: str
    member_id: int
    at: datetime
    text: str
    channel: str | None = None  # "private" or "sms" to insist on one; None: the best there is


NOBODY_KEY = "duty:nobody_since"
NOTICE_LEASE = timedelta(minutes=2)  # a notice claimed this long ago by a sender is free again


def invite_state(invite: Invite | None, now: datetime) -> InviteState:
    if invite is None:
        return InviteState.UNKNOWN
    if invite.revoked_at is not None:
        return InviteState.REVOKED
    if invite.used_at is not None:
        return InviteState.USED
    if invite.expires_at <= now:
        return InviteState.EXPIRED
    return InviteState.VALID


class DirectoryStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- organisations ---------------------------------------------------------------------

    def upsert_organisation(self, record: OrganisationRecord, now: datetime, actor: Actor) -> bool:
        """Add or update one organisation, matched by name; True when it is new."""
        with session_scope(self.engine) as session:
            row = self._organisation(session, record.name)
            before = None if row is None else row.model_dump(exclude={"created_at", "updated_at"})
            row = row or Organisation(name=record.name, kind="", created_at=now, updated_at=now)
            row.kind, row.address = record.kind, record.address
            row.latitude, row.longitude = record.latitude, record.longitude
            row.updated_at = now
            session.add(row)
            session.flush()
            after = row.model_dump(exclude={"created_at", "updated_at"})
            if after != before:
                audit.record(session, now, actor, "organisation.import", row.name, before, after)
            return before is None

    def ensure_organisation(self, name: str, now: datetime, actor: Actor) -> None:
        """Make sure `name` exists, as kind `other` without an address if it is new."""
        with session_scope(self.engine) as session:
            if self._organisation(session, name) is None:
                session.add(
                    Organisation(name=name, kind=OrgKind.OTHER, created_at=now, updated_at=now)
                )
                audit.record(
                    session, now, actor, "organisation.add", name, None, {"kind": "other"}
                )

    def organisations(self) -> list[Organisation]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(Organisation).order_by(col(Organisation.name))))

    def organisation(self, name: str) -> Organisation | None:
        with session_scope(self.engine) as session:
            return self._organisation(session, name)

    def _organisation(self, session: Session, name: str) -> Organisation | None:
        query = select(Organisation).where(func.lower(Organisation.name) == name.strip().lower())
        return session.exec(query).first()

    # -- invitations -----------------------------------------------------------------------

    def create_invite(
        self, code: str, role: str, organisation: str, by: Member, now: datetime, expires: datetime
    ) -> Invite:
        with session_scope(self.engine) as session:
            invite = Invite(
                code=code,
                role=role,
                organisation=organisation,
                created_by_id=by.id,
                created_at=now,
                expires_at=expires,
            )
            session.add(invite)
            after = {"role": role, "organisation": organisation, "expires_at": expires}
            audit.record(
                session, now, Actor.of(by), "invite.create", f"invite {code}", None, after
            )
            return invite

    def open_invite(self, code: str, user_id: int, now: datetime) -> InviteState:
        """Remember who opened a valid link, so their shared contact completes it."""
        with session_scope(self.engine) as session:
            invite = session.exec(select(Invite).where(Invite.code == code)).first()
            state = invite_state(invite, now)
            if invite is not None and state is InviteState.VALID:
                invite.opened_by_user_id = user_id
                session.add(invite)
            return state

    def opened_invite(self, user_id: int) -> Invite | None:
        """The latest link this user opened and has not completed."""
        with session_scope(self.engine) as session:
            query = select(Invite).where(
                Invite.opened_by_user_id == user_id, col(Invite.used_at).is_(None)
            )
            return session.exec(query.order_by(col(Invite.id).desc())).first()

    def use_invite(
        self, invite_id: int, member: Member, now: datetime
    ) -> tuple[InviteState, Member | None]:
        """Spend the invite and put `member` on the roster, or say why not; all or nothing."""
        try:
            with session_scope(self.engine) as session:
                invite = session.get(Invite, invite_id)
                state = invite_state(invite, now)
                if invite is None or state is not InviteState.VALID:
                    return state, None
                clash = self._clash(session, member)
                if clash is not None:
                    return clash, None
                spent = session.execute(
                    update(Invite)
                    .where(col(Invite.id) == invite_id, col(Invite.used_at).is_(None))
                    .values(used_at=now)
                )
                if rows_changed(spent) != 1:
                    return InviteState.USED, None
                row, before = self._join(session, member, now)
                invite.used_by_id = row.id
                invite.used_at = now
                session.add(invite)
                actor = Actor(row.name, row.id)
                target = f"member {row.id} ({row.name})"
                audit.record(session, now, actor, "roster.join", target, before, snapshot(row))
                return InviteState.VALID, row
        except IntegrityError:
            return InviteState.PHONE_TAKEN, None

    def _clash(self, session: Session, member: Member) -> InviteState | None:
        """Why this invitation must not touch the roster: the user is on it already, or their
        number belongs to another Telegram user. An entry by phone alone, never linked to
        Telegram, is a placeholder the invitation completes instead."""
        active = col(Member.active).is_(True)
        query = select(Member.id).where(Member.telegram_user_id == member.telegram_user_id)
        if session.exec(query.where(active)).first() is not None:
            return InviteState.ALREADY_MEMBER
        owner = session.exec(
            select(Member.telegram_user_id).where(Member.phone == member.phone)
        ).first()
        if owner is not None and owner != member.telegram_user_id:
            return InviteState.PHONE_TAKEN
        return None

    def _join(
        self, session: Session, member: Member, now: datetime
    ) -> tuple[Member, dict[str, Any] | None]:
        """The new member, or the entry they already had (same id, phone or username) updated."""
        same = [col(Member.telegram_user_id) == member.telegram_user_id]
        if member.phone:
            same.append(col(Member.phone) == member.phone)
        if member.telegram_username:
            same.append(col(Member.telegram_username) == member.telegram_username)
        row = session.exec(select(Member).where(or_(*same))).first()
        if row is None:
            session.add(member)
            session.flush()
            return member, None
        before = snapshot(row)
        fields = ("name", "role", "organisation", "phone", "telegram_user_id", "telegram_username")
        for field in fields:
            setattr(row, field, getattr(member, field) or getattr(row, field))
        row.active, row.updated_at = True, now
        session.add(row)
        session.flush()
        return row, before

    def revoke_invite(self, code: str, now: datetime, actor: Actor) -> InviteState:
        """Revoke a link that has not been used; the state it was in otherwise."""
        with session_scope(self.engine) as session:
            invite = session.exec(select(Invite).where(Invite.code == code)).first()
            state = invite_state(invite, now)
            if invite is None or state in (InviteState.USED, InviteState.REVOKED):
                return state
            invite.revoked_at = now
            session.add(invite)
            audit.record(session, now, actor, "invite.revoke", f"invite {code}", None, None)
            return InviteState.VALID

    # -- the roster ------------------------------------------------------------------------

    def find(self, query: str) -> list[Member]:
        """Active members matching `@username`, a phone, a Telegram id, or a name."""
        text = query.strip()
        with session_scope(self.engine) as session:
            base = select(Member).where(col(Member.active).is_(True))
            if text.startswith("@"):
                match = col(Member.telegram_username) == text[1:].lower()
            elif text.lstrip("+").isdigit():
                number = int(text.lstrip("+"))
                match = or_(col(Member.telegram_user_id) == number, col(Member.phone) == text)
            else:
                match = func.lower(Member.name) == text.lower()
            found = list(session.exec(base.where(match)))
            if found or text.startswith("@") or text.lstrip("+").isdigit():
                return found
            partial = func.lower(Member.name).contains(text.lower())
            return list(session.exec(base.where(partial)))

    def by_telegram_id(self, user_id: int) -> Member | None:
        with session_scope(self.engine) as session:
            query = select(Member).where(
                Member.telegram_user_id == user_id, col(Member.active).is_(True)
            )
            return session.exec(query).first()

    def admins(self) -> list[Member]:
        with session_scope(self.engine) as session:
            query = select(Member).where(Member.role == Role.ADMIN, col(Member.active).is_(True))
            return list(session.exec(query.order_by(col(Member.name))))

    def leaves_no_admin(self, member_id: int, new_role: str | None) -> bool:
        """Whether giving `member_id` the role `new_role` (None: removing them) would leave
        Vigil without an active admin."""
        admins = [admin.id for admin in self.admins()]
        return admins == [member_id] and new_role != Role.ADMIN

    def set_role(self, member_id: int, role: str, now: datetime, actor: Actor) -> Member | None:
        """Change a member's role; None if they are not on the roster."""
        return self._change(member_id, now, actor, "roster.set_role", role=role)

    def remove(self, member_id: int, now: datetime, actor: Actor) -> Member | None:
        """Take a member off the roster; their alerts and audit entries stay."""
        return self._change(member_id, now, actor, "roster.remove", active=False, on_duty=False)

    def _change(
        self, member_id: int, now: datetime, actor: Actor, action: str, **values: Any
    ) -> Member | None:
        with session_scope(self.engine) as session:
            member = session.get(Member, member_id)
            if member is None or not member.active:
                return None
            before = snapshot(member)
            for name, value in values.items():
                setattr(member, name, value)
            member.updated_at = now
            session.add(member)
            target = f"member {member.id} ({member.name})"
            audit.record(session, now, actor, action, target, before, snapshot(member))
            return member

    # -- the rota --------------------------------------------------------------------------

    def replace_rota(self, shifts: list[ShiftRecord], now: datetime, actor: Actor) -> int:
        """The file is the rota: replace every shift with these; returns how many there were."""
        with session_scope(self.engine) as session:
            before = len(list(session.exec(select(Shift))))
            session.execute(delete(Shift))
            session.execute(delete(DutyOverride))  # a new rota starts from the rota
            for shift in shifts:
                session.add(Shift(**shift.__dict__))
            after = {"shifts": [s.__dict__ for s in shifts]}
            audit.record(session, now, actor, "rota.import", "rota", {"shifts": before}, after)
            return before

    def shifts(self) -> list[Shift]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(Shift).order_by(col(Shift.id))))

    def duty_members(self) -> list[Member]:
        """Everyone on the roster who can be on duty."""
        with session_scope(self.engine) as session:
            query = select(Member).where(
                col(Member.active).is_(True), col(Member.role).in_(DUTY_ROLES)
            )
            return list(session.exec(query.order_by(col(Member.name))))

    def set_duty(
        self, member: Member, on: bool, until: datetime | None, now: datetime, actor: Actor | None
    ) -> bool:
        """Put a member on or off duty (an override until `until` when given); True if changed."""
        with session_scope(self.engine) as session:
            changed = session.execute(
                update(Member)
                .where(col(Member.id) == member.id, col(Member.on_duty) != on)
                .values(on_duty=on, on_duty_since=now if on else None, updated_at=now)
            )
            if actor is not None:
                override = session.get(DutyOverride, member.id) or DutyOverride(
                    member_id=member.id or 0, on_duty=on, set_at=now
                )
                override.on_duty, override.until, override.set_at = on, until, now
                session.add(override)
                target = f"member {member.id} ({member.name})"
                after = {"on_duty": on, "until": until}
                audit.record(session, now, actor, "duty.set", target, None, after)
            return rows_changed(changed) == 1

    def overrides(self) -> dict[int, DutyOverride]:
        with session_scope(self.engine) as session:
            return {o.member_id: o for o in session.exec(select(DutyOverride))}

    def drop_override(self, member_id: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(delete(DutyOverride).where(col(DutyOverride.member_id) == member_id))

    # -- shift notices ---------------------------------------------------------------------

    def add_notices(
        self,
        notices: list[NewNotice],
        group_line: Callable[[list[NewNotice]], str] | None,
        now: datetime,
    ) -> int:
        """Write the notices not written before, and the group's line about the new ones."""
        added: list[NewNotice] = []
        try:
            self._add_notices(notices, group_line, now, added)
        except IntegrityError:  # another process wrote the same notices first
            return 0
        return len(added)

    def _add_notices(
        self,
        notices: list[NewNotice],
        group_line: Callable[[list[NewNotice]], str] | None,
        now: datetime,
        added: list[NewNotice],
    ) -> None:
        with session_scope(self.engine) as session:
            for notice in notices:
                query = select(ShiftNotice).where(
                    ShiftNotice.kind == notice.kind,
                    ShiftNotice.member_id == notice.member_id,
                    ShiftNotice.at == notice.at,
                )
                if session.exec(query).first() is None:
                    session.add(
                        ShiftNotice(**notice.__dict__, created_at=now, next_attempt_at=now)
                    )
                    added.append(notice)
            if added and group_line is not None:
                text = group_line(added)
                session.add(GroupPost(text=text, created_at=now, next_attempt_at=now))

    def nobody_on_duty(self, nobody: bool, notices: list[NewNotice], now: datetime) -> bool:
        """Record whether nobody is on duty; on the change to nobody, write `notices`."""
        with session_scope(self.engine) as session:
            row = session.get(ChatSetting, NOBODY_KEY)
            was_nobody = row is not None and bool(row.value)
            if was_nobody == nobody:
                return False
            row = row or ChatSetting(key=NOBODY_KEY, value="", updated_at=now)
            row.value, row.updated_at = (now.isoformat() if nobody else ""), now
            session.add(row)
            for notice in notices if nobody else []:
                session.add(ShiftNotice(**notice.__dict__, created_at=now, next_attempt_at=now))
            return nobody

    def claim_notices(self, now: datetime, limit: int = 100) -> list[tuple[ShiftNotice, Member]]:
        """Take the notices due now for sending; a sender that dies lets them go after a lease."""
        due = or_(
            col(ShiftNotice.status) == Delivery.PENDING,
            col(ShiftNotice.status) == Delivery.SENDING,
        )
        with session_scope(self.engine) as session:
            query = (
                select(ShiftNotice, Member)
                .join(Member, col(Member.id) == ShiftNotice.member_id)
                .where(due, col(ShiftNotice.next_attempt_at) <= now)
                .order_by(col(ShiftNotice.id))
                .limit(limit)
            )
            claimed = []
            for notice, member in session.exec(query):
                taken = session.execute(
                    update(ShiftNotice)
                    .where(col(ShiftNotice.id) == notice.id, due)
                    .where(col(ShiftNotice.next_attempt_at) == notice.next_attempt_at)
                    .values(status=Delivery.SENDING, next_attempt_at=now + NOTICE_LEASE)
                )
                if rows_changed(taken) == 1:
                    claimed.append((notice, member))
            return claimed

    def record_notice(
        self,
        notice_id: int,
        status: str,
        channel: str | None,
        now: datetime,
        retry_at: datetime | None,
    ) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(ShiftNotice)
                .where(col(ShiftNotice.id) == notice_id)
                .values(
                    status=status,
                    channel=channel,
                    attempts=ShiftNotice.attempts + 1,
                    next_attempt_at=retry_at,
                    sent_at=now if status == Delivery.SENT else None,
                )
            )

    def notices(self) -> list[ShiftNotice]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(ShiftNotice).order_by(col(ShiftNotice.id))))

    # -- private chats ---------------------------------------------------------------------

    def mark_private_chat(self, user_id: int, now: datetime) -> None:
        with session_scope(self.engine) as session:
            if session.get(PrivateChat, user_id) is None:
                session.add(PrivateChat(telegram_user_id=user_id, opened_at=now))

    def has_private_chat(self, user_id: int) -> bool:
        with session_scope(self.engine) as session:
            return session.get(PrivateChat, user_id) is not None
