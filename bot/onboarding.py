"""Bringing people in: single-use invitation codes, and telling the admins what happened."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.phones import PhoneError, normalise
from storage.directory import Invite, InviteState, NewNotice
from storage.models import Member

if TYPE_CHECKING:
    from bot.service import Vigil

logger = logging.getLogger(__name__)

INVITE_LIFETIME = timedelta(hours=24)


def new_code() -> str:
    """A code Telegram accepts as a deep-link parameter (A-Z, a-z, 0-9, _ and -)."""
    return secrets.token_urlsafe(12)


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


async def invite(vigil: Vigil, admin: Member, role: str, organisation: str) -> Invite:
    """Create a single-use invitation valid for 24 hours."""
    now = vigil.clock.now()
    created = await asyncio.to_thread(
        vigil.stores.directory.create_invite,
        new_code(),
        role,
        organisation,
        admin,
        now,
        now + INVITE_LIFETIME,
    )
    logger.info("Invitation %s created by member %s", created.id, admin.id)
    return created


async def join(
    vigil: Vigil, user_id: int, name: str, username: str | None, phone: str
) -> tuple[InviteState, Member | None]:
    """Put the person who opened an invitation on the roster with their verified number."""
    directory = vigil.stores.directory
    opened = await asyncio.to_thread(directory.opened_invite, user_id)
    if opened is None or opened.id is None:
        return InviteState.UNKNOWN, None
    try:
        e164 = normalise(phone if phone.startswith("+") else f"+{phone}", "ZZ")
    except PhoneError:
        e164 = None
    now = vigil.clock.now()
    member = Member(
        name=name,
        role=opened.role,
        organisation=opened.organisation,
        phone=e164,
        telegram_user_id=user_id,
        telegram_username=username.lower() if username else None,
        created_at=now,
        updated_at=now,
    )
    state, joined = await asyncio.to_thread(directory.use_invite, opened.id, member, now)
    if joined is not None:
        logger.info("Member %s joined by invitation %s", joined.id, opened.id)
    return state, joined


async def tell_admins(
    vigil: Vigil, kind: str, at: datetime, text: str, *, sms: bool = False
) -> None:
    """Tell every admin in a private message, and by SMS too when `sms` is set.

    The messages are rows keyed by `kind` and `at`, so a redelivered update tells nobody twice
    and a restart loses none.
    """
    directory = vigil.stores.directory
    admins = await asyncio.to_thread(directory.admins)
    notices = [NewNotice(kind, a.id or 0, at, text, "private") for a in admins]
    if sms:
        notices += [NewNotice(f"{kind}:sms", a.id or 0, at, text, "sms") for a in admins]
    await asyncio.to_thread(directory.add_notices, notices, None, vigil.clock.now())
    await vigil.rota.deliver()
