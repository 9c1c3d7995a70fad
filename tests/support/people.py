"""The roster most tests use: a consul, officers, a supervisor, command, an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.roster import MemberRecord, RosterStore
from tests.fakes import updates

GROUP_ID = -1001234567890

CONSUL = updates.user(101, "Jane", "jane_consul", "Doe")
CONSUL_2 = updates.user(102, "Henrik", "henrik_no")
OFFICER = updates.user(201, "Ali", "ali_police")
OFFICER_2 = updates.user(202, "Sara", "sara_police")
SUPERVISOR = updates.user(301, "Omar", "omar_sup")
COMMANDER = updates.user(401, "Khan", "khan_cmd")
ADMIN = updates.user(501, "Ayesha", "ayesha_cell")
OUTSIDER = updates.user(999, "Mallory", "mallory")

PHONES = {
    201: "+923001110001",
    202: "+923001110002",
    301: "+923001110003",
    401: "+923001110004",
}

ROSTER = [
    MemberRecord("Jane Doe", "consulate", "Consulate of Norway", None, 101, None),
    MemberRecord("Henrik Berg", "consulate", "Consulate of Denmark", None, 102, None),
    MemberRecord("Ali Raza", "officer", "Police", PHONES[201], 201, None),
    MemberRecord("Sara Khan", "officer", "Rangers", PHONES[202], 202, None),
    MemberRecord("Omar Farooq", "supervisor", "Police", PHONES[301], 301, None),
    MemberRecord("Col. Khan", "command", "Rangers", PHONES[401], 401, None),
    MemberRecord("Ayesha Malik", "admin", "Security Cell", None, 501, None),
]


def seed(roster: RosterStore, now: datetime, on_duty: tuple[int, ...] = (201,)) -> None:
    """Put everyone on the roster; `on_duty` lists Telegram ids of those on duty."""
    for record in ROSTER:
        roster.upsert(record, now)
    for member in roster.members():
        if member.telegram_user_id in on_duty and member.id is not None:
            roster.set_on_duty(member.id, True, now)


def member_id(roster: RosterStore, user: dict[str, Any]) -> int:
    found = roster.identify(user["id"], user.get("username"), datetime.now().astimezone())
    assert found is not None and found.id is not None
    return found.id
