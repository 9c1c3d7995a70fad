"""Escalation by SMS, tier after tier, with time under the test's control."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from bot.clock import SystemClock
from storage.models import Notification, SmsAttempt
from tests.fakes.twilio import FakeTwilio
from tests.support import people
from tests.support.clock import ManualClock
from tests.support.harness import FROM_NUMBER, Harness, MakeBot

ALERT = "/alert critical Suspicious vehicle at the main gate"


def _sms_to(tw: FakeTwilio) -> list[str]:
    return [sms.to for sms in tw.messages]


def _lines(vigil: Harness) -> list[str]:
    return [text for text in vigil.replies() if text.startswith("📟")]


async def test_nothing_is_sent_before_the_first_step_is_due(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.advance(minutes=1, seconds=59)

    assert vigil.tw.messages == [] and _lines(vigil) == []


async def test_the_first_step_pages_the_officers_on_duty(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.advance(minutes=2)

    (sms,) = vigil.tw.messages
    assert sms.to == people.PHONES[201] and sms.from_ == FROM_NUMBER
    assert sms.body == (
        "VIGIL #1 CRITICAL Consulate of Norway: Suspicious vehicle at the main gate "
        "(waiting 2 min). Acknowledge in the Telegram group: /ack 1"
    )
    assert _lines(vigil) == ["📟 Alert #1: step 1, paging the duty officers. SMS: 1 sent."]
    assert "escalated to the duty officers" in vigil.card(1)


async def test_tiers_follow_the_policy_then_repeat_the_last(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    raised = vigil.clock.now()
    for minute in (2, 5, 10, 20, 30, 40, 50, 60):
        vigil.clock.current = raised + timedelta(minutes=minute)
        await vigil.vigil.tick()

    assert _sms_to(vigil.tw) == [
        people.PHONES[201],
        people.PHONES[301],
        *[people.PHONES[401]] * 4,
    ]
    assert [line.split(",")[0] for line in _lines(vigil)] == [
        "📟 Alert #1: step 1",
        "📟 Alert #1: step 2",
        "📟 Alert #1: step 3",
        "📟 Alert #1: step 4",
        "📟 Alert #1: step 5",
        "📟 Alert #1: step 6",
    ]
    assert vigil.alert(1).next_step_due_at is None


async def test_with_nobody_on_duty_the_supervisors_are_paged_at_once(vigil: Harness) -> None:
    await vigil.say(people.OFFICER, "/offduty")
    await vigil.say(people.CONSUL, ALERT)

    await vigil.advance(minutes=2)

    assert _sms_to(vigil.tw) == [people.PHONES[301]]
    assert _lines(vigil) == [
        "📟 Alert #1: step 1, paging the duty officers. Nobody is on duty: going straight to "
        "the next tier.",
        "📟 Alert #1: step 2, paging the supervisors. SMS: 1 sent.",
    ]


async def test_a_step_runs_once_when_its_timer_fires_twice(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    vigil.clock.advance(minutes=2)

    await asyncio.gather(vigil.vigil.escalate(1), vigil.vigil.escalate(1), vigil.vigil.tick())
    await vigil.vigil.settled()
    await vigil.vigil.tick()  # whichever pass found the SMS unanswered, this one posts the line

    assert _sms_to(vigil.tw) == [people.PHONES[201]]
    assert len(_lines(vigil)) == 1


async def test_an_acknowledgement_at_the_due_instant_wins_over_the_step(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    vigil.clock.advance(minutes=2)

    await vigil.press(people.OFFICER, "ack:1", 1)
    await vigil.vigil.escalate(1)

    assert vigil.tw.messages == [] and _lines(vigil) == []


async def test_a_permanent_twilio_error_is_not_retried_and_is_named(vigil: Harness) -> None:
    vigil.tw.fail_number(people.PHONES[201], code=21211)
    await vigil.say(people.CONSUL, ALERT)

    await vigil.advance(minutes=2)
    await vigil.advance(minutes=1)

    assert _lines(vigil) == [
        "📟 Alert #1: step 1, paging the duty officers. SMS: 0 sent, 1 failed "
        "(Ali Raza: invalid number, 21211)."
    ]
    with Session(vigil.engine) as session:
        (sms,) = session.exec(select(Notification)).all()
        assert (sms.status, sms.error_code, sms.attempts) == ("failed", 21211, 1)


async def test_a_retryable_twilio_error_is_retried_with_backoff(vigil: Harness) -> None:
    vigil.tw.fail_next(times=2, status=503)
    await vigil.say(people.CONSUL, ALERT)

    await vigil.advance(minutes=2)
    assert _lines(vigil) == [
        "📟 Alert #1: step 1, paging the duty officers. SMS: 0 sent, 1 retrying."
    ]
    await vigil.advance(seconds=14)
    assert vigil.tw.messages == []
    await vigil.advance(seconds=1)
    await vigil.advance(seconds=30)

    assert _sms_to(vigil.tw) == [people.PHONES[201]]
    with Session(vigil.engine) as session:
        attempts = session.exec(select(SmsAttempt).order_by(SmsAttempt.id)).all()
        assert [a.outcome for a in attempts] == ["retry", "retry", "sent"]
        assert attempts[-1].provider_id is not None and attempts[-1].provider_id.startswith("SM")


async def test_twilio_rate_limit_20429_is_retried(vigil: Harness) -> None:
    vigil.tw.fail_next(times=1, status=429, code=20429)
    await vigil.say(people.CONSUL, ALERT)

    await vigil.advance(minutes=2)
    await vigil.advance(seconds=15)

    assert _sms_to(vigil.tw) == [people.PHONES[201]]


async def test_a_slow_twilio_times_out_and_is_retried(
    vigil: Harness,
) -> None:
    vigil.vigil.sms.http.request_timeout = 0.2  # type: ignore[union-attr]
    vigil.tw.delay(2.0)
    await vigil.say(people.CONSUL, ALERT)

    await vigil.advance(minutes=2)

    assert "1 retrying" in _lines(vigil)[0]
    with Session(vigil.engine) as session:
        (attempt,) = session.exec(select(SmsAttempt)).all()
        assert attempt.outcome == "retry" and "no answer" in (attempt.detail or "")


async def test_escalation_goes_on_while_telegram_is_down(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    vigil.tg.fail_next("sendMessage", status=502, times=50)
    vigil.tg.fail_next("editMessageText", status=502, times=50)

    await vigil.advance(minutes=2)
    await vigil.advance(minutes=3)

    assert _sms_to(vigil.tw) == [people.PHONES[201], people.PHONES[301]]
    assert _lines(vigil) == []


async def test_without_twilio_each_step_says_sms_is_not_configured(make_bot: MakeBot) -> None:
    harness = make_bot(sms=False)
    await harness.start()
    try:
        await harness.say(people.CONSUL, ALERT)
        await harness.advance(minutes=2)
    finally:
        await harness.stop()

    assert _lines(harness) == [
        "📟 Alert #1: step 1, paging the duty officers. SMS is not configured, so nobody "
        "was paged by SMS."
    ]


async def test_a_restart_runs_overdue_steps_once_and_repeats_nothing(
    make_bot: MakeBot, clock: ManualClock, tw: FakeTwilio
) -> None:
    first = make_bot()
    await first.start()
    await first.say(people.CONSUL, ALERT)
    await first.advance(minutes=2)
    await first.stop()  # the bot goes down before step 2

    clock.advance(minutes=4)
    for _ in range(2):  # start twice: the second start must add nothing
        again = make_bot()
        await again.start()
        await again.vigil.tick()
        await again.stop()

    assert _sms_to(tw) == [people.PHONES[201], people.PHONES[301]]
    assert len(_lines(again)) == 2
    assert len([m for m in again.replies() if "ALERT #1" in m]) == 1


async def test_each_waiting_alert_has_one_timer_until_it_is_acknowledged(
    vigil: Harness,
) -> None:
    await vigil.app.job_queue.start()  # type: ignore[union-attr]
    await vigil.say(people.CONSUL, ALERT)
    vigil.vigil.schedule(1, vigil.clock.now() + timedelta(minutes=1))  # again: replaces it

    names = [job.name for job in vigil.app.job_queue.jobs()]  # type: ignore[union-attr]
    assert names.count("vigil:alert:1") == 1

    await vigil.press(people.OFFICER, "ack:1", 1)
    names = [job.name for job in vigil.app.job_queue.jobs()]  # type: ignore[union-attr]
    assert "vigil:alert:1" not in names
    await vigil.app.job_queue.stop()  # type: ignore[union-attr]


async def test_real_timers_fire_through_the_real_scheduler(
    make_bot: MakeBot, tw: FakeTwilio, tmp_path: Path
) -> None:
    policy = tmp_path / "fast.toml"
    policy.write_text(
        '[levels.critical]\nsteps = [{ after = "1s", notify = "on_duty" }, '
        '{ after = "2s", notify = "supervisors" }]\n'
        '[levels.high]\nsteps = [{ after = "1s", notify = "on_duty" }]\n'
        '[levels.normal]\nsteps = [{ after = "1s", notify = "on_duty" }]\n'
    )
    harness = make_bot(policy=policy, clock=SystemClock())
    await harness.start()
    await harness.app.start()
    try:
        await harness.say(people.CONSUL, ALERT)
        sent = await tw.wait_for_messages(2, timeout=10)
    finally:
        await harness.app.stop()
        await harness.stop()

    assert [sms.to for sms in sent] == [people.PHONES[201], people.PHONES[301]]


async def test_a_page_waiting_for_a_retry_is_not_sent_once_the_alert_is_acknowledged(
    vigil: Harness,
) -> None:
    vigil.tw.fail_next(times=1, status=503)
    await vigil.say(people.CONSUL, ALERT)
    await vigil.advance(minutes=2)
    await vigil.press(people.OFFICER, "ack:1", 1)

    await vigil.advance(minutes=10)

    assert vigil.tw.messages == []
    with Session(vigil.engine) as session:
        (sms,) = session.exec(select(Notification)).all()
        assert sms.status == "cancelled"
    await vigil.say(people.CONSUL, "/status 1")
    assert "SMS Ali Raza not sent (no longer needed)" in vigil.last_reply()


async def test_repeats_say_so_and_short_waits_are_in_seconds(
    make_bot: MakeBot, tmp_path: Path, tw: FakeTwilio
) -> None:
    policy = tmp_path / "drill.toml"
    policy.write_text(
        '[levels.critical]\nsteps = [{ after = "45s", notify = "on_duty" }]\n'
        'repeat_every = "30s"\nrepeat_limit = 1\n'
        '[levels.high]\nsteps = [{ after = "1m", notify = "on_duty" }]\n'
        '[levels.normal]\nsteps = [{ after = "1m", notify = "on_duty" }]\n'
    )
    bot = make_bot(policy=policy)
    await bot.start()
    await bot.say(people.CONSUL, "/alert critical " + "Smoke from the roof " * 10)

    await bot.advance(seconds=45)
    await bot.advance(seconds=30)
    await bot.stop()

    first, second = (sms.body for sms in tw.messages)
    assert "(waiting 45 s)" in first and "(waiting 1 min)" in second
    assert "..." in first and "…" not in first
    assert "step 2, paging the duty officers again (nobody has acknowledged)" in _lines(bot)[1]
