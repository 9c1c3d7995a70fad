"""Meeting rows: planning is idempotent, a reminder is claimed once, answers replace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, update
from sqlmodel import col

from storage.db import session_scope
from storage.meetings import MeetingStore
from storage.models import Member
from storage.roster import RosterStore
from tests.support import people

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)
STARTS = datetime(2026, 12, 7, 6, tzinfo=UTC)
REMINDERS = [(7 * 24 * 60, STARTS - timedelta(days=7)), (60, STARTS - timedelta(hours=1))]


def planned(engine: Engine) -> tuple[MeetingStore, int]:
    store = MeetingStore(engine)
    rule, _ = store.set_rule("every first monday", "chat", None, NOW)
    assert rule.id is not None
    meeting = store.plan(rule.id, STARTS, "Central Police Office", REMINDERS, NOW)
    assert meeting.id is not None
    return store, meeting.id


def test_planning_twice_writes_one_meeting_and_skips_reminders_already_past(
    engine: Engine,
) -> None:
    store, meeting_id = planned(engine)
    rule = store.current_rule()
    assert rule is not None and rule.id is not None

    again = store.plan(rule.id, STARTS, "elsewhere", REMINDERS, NOW)

    assert again.id == meeting_id and again.venue == "Central Police Office"
    assert [(r.offset_minutes, r.status) for r in store.reminders(meeting_id)] == [
        (10080, "skipped"),
        (60, "pending"),
    ]


def test_a_due_reminder_is_claimed_by_exactly_one_poster(engine: Engine) -> None:
    store, meeting_id = planned(engine)
    reminder = store.reminders(meeting_id)[1]
    due = reminder.due_at
    assert reminder.id is not None

    assert store.claim(reminder.id, due - timedelta(seconds=1)) is False  # not yet due
    assert store.claim(reminder.id, due) is True
    assert store.claim(reminder.id, due) is False
    assert store.due_reminders(due + timedelta(minutes=1)) == []
    assert store.claim(reminder.id, due + timedelta(minutes=3)) is True  # the poster died


def test_a_posted_reminder_is_never_due_again(engine: Engine) -> None:
    store, meeting_id = planned(engine)
    reminder = store.reminders(meeting_id)[1]
    assert reminder.id is not None
    store.claim(reminder.id, reminder.due_at)

    store.record_posted(reminder.id, people.GROUP_ID, 7, 1, False, reminder.due_at)

    assert store.due_reminders(STARTS + timedelta(days=1)) == []
    assert store.skip(reminder.id, "too late") is False


def test_an_organisation_s_latest_answer_replaces_the_earlier_one(engine: Engine) -> None:
    roster = RosterStore(engine)
    people.seed(roster, NOW)
    ali = people.member_id(roster, people.OFFICER)
    store, meeting_id = planned(engine)

    assert store.answer(meeting_id, "Police", "attending", ali, NOW) is True
    assert store.answer(meeting_id, "Police", "attending", ali, NOW) is False
    assert store.answer(meeting_id, "Police", "absent", ali, NOW) is True

    view = store.view(meeting_id)
    assert view is not None and view.answers == {"Police": "absent"}
    assert view.meeting.revision == 3
    assert "Police" not in view.unanswered and "Rangers" in view.unanswered


def test_only_organisations_with_someone_on_the_roster_are_expected_to_answer(
    engine: Engine,
) -> None:
    roster = RosterStore(engine)
    people.seed(roster, NOW)
    store, meeting_id = planned(engine)
    with session_scope(engine) as session:
        session.execute(update(Member).where(col(Member.name) == "Sara Khan").values(active=False))
        session.execute(update(Member).where(col(Member.name) == "Col. Khan").values(active=False))

    view = store.view(meeting_id)

    assert view is not None and "Rangers" not in view.organisations
    assert view.unanswered == [
        "Consulate of Denmark",
        "Consulate of Norway",
        "Police",
        "Security Cell",
    ]
