"""Alert rows on real SQLite and PostgreSQL: claims, acknowledgements, redelivery, time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from storage.alerts import AlertStore, Outcome, PlannedSms, StepClaim
from storage.models import Alert, AlertEvent, GroupPost, Member, Notification
from storage.roster import RosterStore
from tests.support import people
from tests.support.clock import START


def _setup(engine: Engine) -> tuple[AlertStore, RosterStore, Member]:
    roster = RosterStore(engine)
    people.seed(roster, START)
    reporter = roster.identify(people.CONSUL["id"], None, START)
    assert reporter is not None
    return AlertStore(engine), roster, reporter


def _raise(store: AlertStore, reporter: Member, message_id: int = 10) -> Alert:
    alert, created = store.raise_alert(
        reporter=reporter,
        level="critical",
        text="Fire at the gate",
        now=START,
        first_step_due_at=START + timedelta(minutes=2),
        source_chat_id=people.GROUP_ID,
        source_message_id=message_id,
    )
    assert created
    return alert


def _claim(alert: Alert, step: int = 0, member_id: int = 3) -> StepClaim:
    return StepClaim(
        alert.id or 0,
        step,
        "on_duty",
        START + timedelta(minutes=5),
        [PlannedSms(member_id, "+923001110001", "page")],
        "line",
    )


def test_a_redelivered_command_returns_the_first_alert(engine: Engine) -> None:
    store, _, reporter = _setup(engine)
    first = _raise(store, reporter)

    again, created = store.raise_alert(
        reporter=reporter,
        level="critical",
        text="Fire at the gate",
        now=START,
        first_step_due_at=None,
        source_chat_id=people.GROUP_ID,
        source_message_id=10,
    )

    assert not created and again.id == first.id
    with Session(engine) as session:
        assert len(session.exec(select(Alert)).all()) == 1


def test_times_come_back_aware_and_in_utc(engine: Engine) -> None:
    store, _, reporter = _setup(engine)
    alert = _raise(store, reporter)

    stored = store.get(alert.id or 0)

    assert stored is not None and stored.raised_at == START
    assert stored.raised_at.tzinfo is not None and stored.raised_at.utcoffset() == timedelta(0)
    assert stored.next_step_due_at == START + timedelta(minutes=2)


def test_a_step_is_claimed_once_even_by_racing_callers(engine: Engine) -> None:
    store, _, reporter = _setup(engine)
    alert = _raise(store, reporter)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: store.claim_step(_claim(alert), START), range(8)))

    assert results.count(True) == 1
    with Session(engine) as session:
        assert len(session.exec(select(Notification)).all()) == 1
        assert len(session.exec(select(GroupPost)).all()) == 1
        row = session.get(Alert, alert.id)
        assert row is not None and row.next_step == 1 and row.steps_run == 1


def test_no_step_runs_once_the_alert_is_acknowledged(engine: Engine) -> None:
    store, roster, reporter = _setup(engine)
    alert = _raise(store, reporter)
    officer = people.member_id(roster, people.OFFICER)

    assert store.acknowledge(alert.id or 0, officer, START) is Outcome.DONE
    claimed = store.claim_step(_claim(alert), START)

    assert not claimed
    with Session(engine) as session:
        assert session.exec(select(Notification)).all() == []
        row = session.get(Alert, alert.id)
        assert row is not None and row.state == "acknowledged" and row.next_step_due_at is None


def test_acknowledgement_and_step_racing_leave_one_winner(engine: Engine) -> None:
    store, roster, reporter = _setup(engine)
    officer = people.member_id(roster, people.OFFICER)
    for round_ in range(10):
        alert = _raise(store, reporter, message_id=100 + round_)
        with ThreadPoolExecutor(max_workers=2) as pool:
            ack = pool.submit(store.acknowledge, alert.id or 0, officer, START)
            step = pool.submit(store.claim_step, _claim(alert), START)
        with Session(engine) as session:
            sms = session.exec(select(Notification).where(Notification.alert_id == alert.id))
            assert len(sms.all()) == (1 if step.result() else 0)
        assert ack.result() is Outcome.DONE


def test_later_acknowledgements_are_recorded_as_responders(engine: Engine) -> None:
    store, roster, reporter = _setup(engine)
    alert = _raise(store, reporter)
    ali = people.member_id(roster, people.OFFICER)
    sara = people.member_id(roster, people.OFFICER_2)

    outcomes = [
        store.acknowledge(alert.id or 0, ali, START),
        store.acknowledge(alert.id or 0, sara, START),
        store.acknowledge(alert.id or 0, sara, START),
        store.acknowledge(alert.id or 0, ali, START),
    ]

    assert outcomes == [
        Outcome.DONE,
        Outcome.RESPONDER,
        Outcome.ALREADY_RESPONDING,
        Outcome.ALREADY_YOURS,
    ]
    view = store.view(alert.id or 0)
    assert view is not None and view.acknowledged_by is not None
    assert view.acknowledged_by.name == "Ali Raza" and view.responders == ["Sara Khan"]


def test_resolving_closes_once_and_stops_escalation(engine: Engine) -> None:
    store, _, reporter = _setup(engine)
    alert = _raise(store, reporter)

    first = store.resolve(alert.id or 0, reporter.id or 0, START, "false alarm")
    second = store.resolve(alert.id or 0, reporter.id or 0, START, None)

    assert (first, second) == (Outcome.DONE, Outcome.ALREADY_RESOLVED)
    assert store.resolve(999, reporter.id or 0, START, None) is Outcome.NOT_FOUND
    assert not store.claim_step(_claim(alert), START)
    assert store.due_alerts(START + timedelta(hours=1)) == []


def test_the_timeline_lists_each_change_in_order(engine: Engine) -> None:
    store, roster, reporter = _setup(engine)
    alert = _raise(store, reporter)
    ali = people.member_id(roster, people.OFFICER)
    store.claim_step(_claim(alert, member_id=ali), START + timedelta(minutes=2))
    store.acknowledge(alert.id or 0, ali, START + timedelta(minutes=3))
    store.resolve(alert.id or 0, ali, START + timedelta(minutes=9), "all clear")

    entries = store.timeline(alert.id or 0)

    assert [e.event.kind for e in entries] == ["raised", "step", "acknowledged", "resolved"]
    assert [name for _, name in entries[1].sms] == ["Ali Raza"]
    with Session(engine) as session:
        assert all(e.at.tzinfo == UTC for e in session.exec(select(AlertEvent)))


def test_due_alerts_are_the_waiting_ones_past_their_time(engine: Engine) -> None:
    store, _, reporter = _setup(engine)
    alert = _raise(store, reporter)

    assert store.due_alerts(START + timedelta(minutes=1)) == []
    assert [a.id for a in store.due_alerts(START + timedelta(minutes=2))] == [alert.id]
