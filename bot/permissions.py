"""Who may do what: the one table every handler asks."""

from __future__ import annotations

from enum import StrEnum

from storage.models import Member, Role


class Action(StrEnum):
    RAISE = "raise an alert"
    ACKNOWLEDGE = "acknowledge alerts"
    RESOLVE = "resolve alerts"
    SEE_STATUS = "see alert status"
    GO_ON_DUTY = "go on or off duty"
    SEE_MEETING = "see the monthly meeting and its agenda"
    PLAN_MEETING = "set, move or cancel the monthly meeting and add to its agenda"
    RSVP = "answer for your organisation to the monthly meeting"
    SEE_REPORT = "see the monthly report"


RESPONDERS = frozenset({Role.OFFICER, Role.SUPERVISOR, Role.COMMAND})
EVERYONE = frozenset(Role)

ALLOWED: dict[Action, frozenset[Role]] = {
    Action.RAISE: EVERYONE,
    Action.ACKNOWLEDGE: RESPONDERS,
    Action.RESOLVE: RESPONDERS | {Role.ADMIN},
    Action.SEE_STATUS: EVERYONE,
    Action.GO_ON_DUTY: RESPONDERS,
    Action.SEE_MEETING: EVERYONE,
    Action.PLAN_MEETING: frozenset({Role.ADMIN}),
    Action.RSVP: EVERYONE,
    Action.SEE_REPORT: EVERYONE,
}


def may(member: Member, action: Action, *, reporter_id: int | None = None) -> bool:
    """Whether `member` may take `action`; a reporter may always resolve their own alert."""
    if action is Action.RESOLVE and reporter_id is not None and member.id == reporter_id:
        return True
    return Role(member.role) in ALLOWED[action]


def roles_for(action: Action) -> str:
    """The roles allowed `action`, for a refusal message."""
    return ", ".join(sorted(role.value for role in ALLOWED[action]))
