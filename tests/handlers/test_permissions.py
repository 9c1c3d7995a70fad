"""Every role against every command and button: the permission table is what happens."""

from __future__ import annotations

from typing import Any

import pytest

from bot.permissions import BUTTON_ACTIONS, COMMAND_ACTIONS, NOT_ON_ROSTER, refusal
from storage.models import Member
from tests.fakes import updates
from tests.support import people
from tests.support.harness import Harness

COMMANDS = {
    "alert": "/alert normal Drill at the gate",
    "ack": "/ack 1",
    "resolve": "/resolve 1 drill over",
    "status": "/status",
    "onduty": "/onduty",
    "offduty": "/offduty",
    "oncall": "/oncall",
    "whoami": "/whoami",
    "roster": "/roster",
    "whois": "/whois @nobody_here",
    "setrole": "/setrole Jane Doe consulate",
    "remove": "/remove Nobody Here",
    "invite": "/invite officer Police",
    "revoke": "/revoke not-a-code",
    "rota": "/rota",
    "meeting": "/meeting",
    "agenda": "/agenda",
    "report": "/report",
}
PRIVATE_COMMANDS = {"invite"}
USERS = {
    "consulate": people.CONSUL,
    "officer": people.OFFICER,
    "supervisor": people.SUPERVISOR,
    "command": people.COMMANDER,
    "admin": people.ADMIN,
}


def _as(role: str | None) -> Member | None:
    return None if role is None else Member(name="x", role=role, organisation="x")


def test_every_command_has_a_row_in_the_table() -> None:
    assert set(COMMANDS) == set(COMMAND_ACTIONS)


async def _reply_to(vigil: Harness, user: dict[str, Any], command: str) -> list[str]:
    private = command in PRIVATE_COMMANDS
    chat = updates.private_chat(user) if private else updates.group(vigil.vigil.group.id)
    before = len(vigil.tg.messages(chat["id"]))
    await vigil.say(user, COMMANDS[command], chat=chat)
    return [m.text for m in vigil.tg.messages(chat["id"])[before:]]


@pytest.mark.parametrize("role", [*USERS, None])
async def test_each_role_is_refused_exactly_what_the_table_forbids(
    vigil: Harness, role: str | None
) -> None:
    user = USERS[role] if role else people.OUTSIDER
    await vigil.say(people.CONSUL_2, "/alert normal Someone else's alert")

    for command, action in COMMAND_ACTIONS.items():
        replies = await _reply_to(vigil, user, command)

        expected = refusal(_as(role), action, reporter_id=-1)
        if expected is None:
            assert not any(r.startswith(("Only ", NOT_ON_ROSTER)) for r in replies), command
        else:
            assert expected in replies, (command, replies)
            assert "admin" in expected  # every refusal says what to do


@pytest.mark.parametrize("role", [*USERS, None])
async def test_each_role_gets_the_buttons_the_table_allows(
    vigil: Harness, role: str | None
) -> None:
    user = USERS[role] if role else people.OUTSIDER
    await vigil.say(people.CONSUL_2, "/alert normal Someone else's alert")

    for button, action in BUTTON_ACTIONS.items():
        await vigil.press(user, f"{button}:1", 1)

        answer = vigil.tg.callback_answers[-1]["text"]
        expected = refusal(_as(role), action, reporter_id=-1)
        assert (answer == expected) if expected else not answer.startswith("Only "), button
