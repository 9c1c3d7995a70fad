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
    SEE_ON_CALL = "see who is on duty"
    SEE_SELF = "see your own roster entry"
    MANAGE_ROSTER = "manage the roster"
    MANAGE_ROTA = "manage the duty rota"


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
    Action.SEE_ON_CALL: EVERYONE,
    Action.SEE_SELF: EVERYONE,
    Action.MANAGE_ROSTER: frozenset({Role.ADMIN}),
    Action.MANAGE_ROTA: frozenset({Role.ADMIN}),
}

# Every command and button, and the action it needs: the table the handlers' gate reads.
COMMAND_ACTIONS: dict[str, Action] = {
    "alert": Action.RAISE,
    "ack": Action.ACKNOWLEDGE,
    "resolve": Action.RESOLVE,
    "status": Action.SEE_STATUS,
    "onduty": Action.GO_ON_DUTY,
    "offduty": Action.GO_ON_DUTY,
    "oncall": Action.SEE_ON_CALL,
    "whoami": Action.SEE_SELF,
    "roster": Action.MANAGE_ROSTER,
    "whois": Action.MANAGE_ROSTER,
    "setrole": Action.MANAGE_ROSTER,
    "remove": Action.MANAGE_ROSTER,
    "invite": Action.MANAGE_ROSTER,
    "revoke": Action.MANAGE_ROSTER,
    "rota": Action.MANAGE_ROTA,
    "meeting": Action.SEE_MEETING,
    "agenda": Action.SEE_MEETING,
    "report": Action.SEE_REPORT,
}
BUTTON_ACTIONS: dict[str, Action] = {"ack": Action.ACKNOWLEDGE, "resolve": Action.RESOLVE}

NOT_ON_ROSTER = (
    "You are not on Vigil's roster, so I can't act on this. "
    "Ask an admin of the security cell to invite you."
)
NOT_ALLOWED = "Only {roles} can {action}. {advice}"
ADVICE = {
    Action.ACKNOWLEDGE: "If you respond to alerts, ask an admin to change your role.",
    Action.RESOLVE: "Ask the duty officer to close it, or an admin to change your role.",
    Action.GO_ON_DUTY: "If you take duty shifts, ask an admin to change your role.",
}
DEFAULT_ADVICE = "Ask an admin of the security cell if you need this."


def may(member: Member, action: Action, *, reporter_id: int | None = None) -> bool:
    """Whether `member` may take `action`; a reporter may always resolve their own alert."""
    if action is Action.RESOLVE and reporter_id is not None and member.id == reporter_id:
        return True
    return Role(member.role) in ALLOWED[action]


def refusal(
    member: Member | None, action: Action, *, reporter_id: int | None = None
) -> str | None:
    """Why `member` may not take `action`, and what to do about it; None when they may."""
    if member is None:
        return NOT_ON_ROSTER
    if may(member, action, reporter_id=reporter_id):
        return None
    roles = roles_for(action)
    if action is Action.RESOLVE:
        roles += ", and the person who raised it"
    advice = ADVICE.get(action, DEFAULT_ADVICE)
    return NOT_ALLOWED.format(roles=roles, action=action, advice=advice)


def roles_for(action: Action) -> str:
    """The roles allowed `action`, for a refusal message."""
    return ", ".join(sorted(role.value for role in ALLOWED[action]))
