"""Organisations, invitations, notices and the audit log on real SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from storage.audit import Actor, AuditStore
from storage.directory import DirectoryStore, InviteState, NewNotice, OrganisationRecord
from storage.models import Member
from storage.roster import RosterStore
from tests.support import people
from tests.support.clock import START

ADMIN = Actor("Ayesha Malik", 7)


def _newcomer(user_id: int, phone: str) -> Member:
    return Member(
        name=f"User {user_id}",
        role="officer",
        organisation="Police",
        phone=phone,
        telegram_user_id=user_id,
        created_at=START,
        updated_at=START,
    )


def test_importing_an_organisation_again_updates_it_and_audits_only_changes(
    engine: Engine,
) -> None:
    directory = DirectoryStore(engine)
    record = OrganisationRecord("Police", "police", "Civil Lines", 24.85, 67.01)

    assert directory.upsert_organisation(record, START, ADMIN) is True
    assert directory.upsert_organisation(record, START, ADMIN) is False
    moved = OrganisationRecord("POLICE", "police", "Garden Road", 24.86, 67.02)
    assert directory.upsert_organisation(moved, START, ADMIN) is False

    (police,) = directory.organisations()
    assert (police.name, police.address) == ("Police", "Garden Road")
    actions = [e.action for e in AuditStore(engine).entries()]
    assert actions == ["organisation.import", "organisation.import"]


def test_an_invitation_is_spent_once_even_by_two_people_at_once(engine: Engine) -> None:
    people.seed(RosterStore(engine), START)
    directory = DirectoryStore(engine)
    admin = RosterStore(engine).identify(people.ADMIN["id"], None, START)
    assert admin is not None
    invite = directory.create_invite(
        "code1", "officer", "Police", admin, START, START + timedelta(hours=24)
    )
    assert invite.id is not None
    later = START + timedelta(minutes=5)

    with ThreadPoolExecutor(2) as pool:
        results = list(
            pool.map(
                lambda n: directory.use_invite(
                    invite.id or 0, _newcomer(n, f"+9230044455{n}"), later
                ),
                (51, 52),
            )
        )

    assert sorted(state for state, _ in results) == [InviteState.USED, InviteState.VALID]
    assert (
        directory.use_invite(invite.id, _newcomer(53, "+923004445553"), later)[0]
        is InviteState.USED
    )


def test_a_notice_is_written_once_for_what_it_is_about(engine: Engine) -> None:
    people.seed(RosterStore(engine), START)
    directory = DirectoryStore(engine)
    notice = NewNotice("on_duty", 3, START, "Your shift has started")

    assert directory.add_notices([notice], None, START) == 1
    assert directory.add_notices([notice], None, START + timedelta(seconds=2)) == 0

    assert [n.kind for n in directory.notices()] == ["on_duty"]


def test_nobody_on_duty_is_news_only_when_it_changes(engine: Engine) -> None:
    people.seed(RosterStore(engine), START)
    directory = DirectoryStore(engine)
    tell = [NewNotice("nobody", 7, START, "Nobody is on duty")]

    assert directory.nobody_on_duty(True, tell, START) is True
    assert directory.nobody_on_duty(True, tell, START) is False
    assert directory.nobody_on_duty(False, [], START) is False
    assert len(directory.notices()) == 1


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"]
)
def test_the_database_refuses_to_rewrite_the_audit_log(engine: Engine, statement: str) -> None:
    AuditStore(engine).append(START, ADMIN, "roster.add", "member 1", None, {"name": "A"})

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))

    assert len(AuditStore(engine).entries()) == 1
