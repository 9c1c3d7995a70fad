"""Bringing people in: /invite, the deep link, the contact button, and the admins told."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot.phones import mask
from storage.audit import Actor
from storage.directory import Invite, OrganisationRecord
from storage.roster import MemberRecord
from tests.fakes import updates
from tests.support import people
from tests.support.clock import START
from tests.support.harness import Harness

NEWCOMER = updates.user(888, "Bilal", "bilal_r", "Rana")
PHONE = "+923004445556"


def _add_police(vigil: Harness) -> None:
    record = OrganisationRecord("Sindh Police", "police", "Civil Lines HQ", 24.85, 67.01)
    vigil.vigil.stores.directory.upsert_organisation(record, vigil.clock.now(), Actor("test"))


async def _invite(vigil: Harness, text: str = "/invite officer sindh police") -> str:
    """An admin asks for a link in private; returns the code in it."""
    await vigil.say(people.ADMIN, text, chat=updates.private_chat(people.ADMIN))
    reply = vigil.tg.last_message(people.ADMIN["id"])
    assert reply is not None and "t.me/" in reply.text, reply
    return reply.text.rsplit("?start=", 1)[1]


async def _open(vigil: Harness, code: str, user: dict = NEWCOMER) -> str:
    await vigil.say(user, f"/start {code}", chat=updates.private_chat(user))
    reply = vigil.tg.last_message(user["id"])
    assert reply is not None
    return reply.text


async def _share(vigil: Harness, phone: str = PHONE, user: dict = NEWCOMER) -> str:
    await vigil.feed(
        updates.contact_message(phone, from_user=user, chat=updates.private_chat(user))
    )
    reply = vigil.tg.last_message(user["id"])
    assert reply is not None
    return reply.text


async def test_an_invitee_joins_with_the_number_telegram_verified(vigil: Harness) -> None:
    _add_police(vigil)
    code = await _invite(vigil)
    link = vigil.tg.last_message(people.ADMIN["id"]).text
    assert f"https://t.me/{updates.BOT_USERNAME}?start={code}" in link

    asked = await _open(vigil, code)
    keyboard = vigil.tg.last_message(NEWCOMER["id"]).reply_markup
    button = keyboard["keyboard"][0][0]
    assert "Share" in button["text"] and button["request_contact"] is True
    assert "officer of Sindh Police" in asked

    joined = await _share(vigil, PHONE.removeprefix("+"))  # Telegram may omit the plus

    assert joined.startswith("✅ You are on Vigil's roster as officer of Sindh Police")
    member = vigil.vigil.stores.roster.identify(888, None, vigil.clock.now())
    assert member is not None
    assert (member.name, member.role, member.phone) == ("Bilal Rana", "officer", PHONE)
    told = vigil.tg.last_message(people.ADMIN["id"]).text
    assert "Bilal Rana joined the roster" in told and mask(PHONE) in told
    actions = [e.action for e in vigil.vigil.stores.audit.entries()]
    assert "invite.create" in actions and "roster.join" in actions


async def test_a_used_link_adds_nobody_else(vigil: Harness) -> None:
    _add_police(vigil)
    code = await _invite(vigil)
    await _open(vigil, code)
    await _share(vigil)
    second = updates.user(889, "Eve")

    answer = await _open(vigil, code, second)

    assert answer.startswith("This invitation has already been used")
    assert vigil.vigil.stores.roster.identify(889, None, vigil.clock.now()) is None


async def test_an_expired_link_adds_nobody(vigil: Harness) -> None:
    _add_police(vigil)
    code = await _invite(vigil)
    vigil.clock.advance(hours=24, seconds=1)

    answer = await _open(vigil, code)

    assert answer.startswith("This invitation has expired")
    assert vigil.vigil.stores.roster.identify(888, None, vigil.clock.now()) is None


async def test_a_link_expiring_between_opening_and_sharing_adds_nobody(vigil: Harness) -> None:
    _add_police(vigil)
    code = await _invite(vigil)
    await _open(vigil, code)
    vigil.clock.advance(hours=25)

    answer = await _share(vigil)

    assert answer.startswith("This invitation has expired")
    assert vigil.vigil.stores.roster.identify(888, None, vigil.clock.now()) is None


async def test_a_revoked_link_adds_nobody(vigil: Harness) -> None:
    _add_police(vigil)
    code = await _invite(vigil)
    await vigil.say(people.ADMIN, f"/revoke {code}", chat=updates.private_chat(people.ADMIN))
    assert vigil.tg.last_message(people.ADMIN["id"]).text.startswith("The invitation is revoked")

    answer = await _open(vigil, code)

    assert answer.startswith("This invitation was revoked")


async def test_an_unknown_code_and_someone_elses_contact_are_refused(vigil: Harness) -> None:
    _add_police(vigil)
    assert (await _open(vigil, "nonsense")).startswith("This invitation link is not valid")
    code = await _invite(vigil)
    await _open(vigil, code)
    other = updates.contact_message(PHONE, from_user=NEWCOMER, chat=updates.private_chat(NEWCOMER))
    other["message"]["contact"]["user_id"] = 12345

    await vigil.feed(other)

    assert vigil.tg.last_message(NEWCOMER["id"]).text.startswith("Please use the button")
    assert vigil.vigil.stores.roster.identify(888, None, vigil.clock.now()) is None


async def test_invite_needs_a_known_organisation_and_a_private_chat(vigil: Harness) -> None:
    await vigil.say(
        people.ADMIN, "/invite officer Atlantis", chat=updates.private_chat(people.ADMIN)
    )
    assert "no organisation called “Atlantis”" in vigil.tg.last_message(people.ADMIN["id"]).text

    await vigil.say(people.ADMIN, "/invite officer Police")
    assert vigil.last_reply().startswith("Send /invite to me in a private chat")

    with Session(vigil.engine) as session:
        assert list(session.exec(select(Invite))) == []


async def test_an_invite_lasts_24_hours(vigil: Harness) -> None:
    _add_police(vigil)
    code = await _invite(vigil)

    with Session(vigil.engine) as session:
        invite = session.exec(select(Invite).where(Invite.code == code)).one()
    assert invite.expires_at - invite.created_at == timedelta(hours=24)


async def test_someone_listed_by_phone_only_is_linked_not_duplicated(vigil: Harness) -> None:
    _add_police(vigil)
    roster = vigil.vigil.stores.roster
    roster.upsert(MemberRecord("B. Rana", "consulate", "Police", PHONE, None, None), START)
    code = await _invite(vigil)
    await _open(vigil, code)

    await _share(vigil)

    (bilal,) = [m for m in roster.members() if m.phone == PHONE]
    assert (bilal.telegram_user_id, bilal.role, bilal.name) == (888, "officer", "Bilal Rana")
    (joined,) = [e for e in vigil.vigil.stores.audit.entries() if e.action == "roster.join"]
    assert '"name": "B. Rana"' in (joined.before or "")


async def test_an_invitation_never_changes_someone_already_on_the_roster(vigil: Harness) -> None:
    _add_police(vigil)
    code = await _invite(vigil)
    await _open(vigil, code, people.ADMIN)

    answer = await _share(vigil, "+923001119999", people.ADMIN)

    assert answer.startswith("You are already on Vigil's roster, so this invitation changes")
    admin = vigil.vigil.stores.roster.identify(people.ADMIN["id"], None, vigil.clock.now())
    assert admin is not None and (admin.role, admin.organisation) == ("admin", "Security Cell")
    assert await _open(vigil, code) != "This invitation has already been used."


async def test_a_number_already_on_the_roster_for_someone_else_is_named_and_admins_told(
    vigil: Harness,
) -> None:
    _add_police(vigil)
    code = await _invite(vigil)
    await _open(vigil, code)

    answer = await _share(vigil, people.PHONES[301])  # Omar's number

    assert answer.startswith("That phone number is on the roster for someone else")
    assert vigil.vigil.stores.roster.identify(NEWCOMER["id"], None, vigil.clock.now()) is None
    told = vigil.tg.last_message(people.ADMIN["id"]).text
    assert "already on the roster for someone else" in told and people.PHONES[301] not in told
