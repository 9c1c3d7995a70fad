"""Acknowledging and resolving, by button and by command, and who may do which."""

from __future__ import annotations

from tests.support import people
from tests.support.harness import Harness

ALERT = "/alert critical Suspicious vehicle at the main gate"


async def test_acknowledge_records_who_and_when_and_edits_the_card(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    vigil.clock.advance(minutes=2, seconds=10)

    await vigil.press(people.OFFICER, "ack:1", 1)

    alert = vigil.alert(1)
    assert alert.state == "acknowledged" and alert.acknowledged_at == vigil.clock.now()
    assert "Acknowledged by Ali Raza at 14:02, 2 min 10 s after it was raised" in vigil.card(1)
    assert vigil.tg.callback_answers[-1]["text"].startswith("Alert #1 acknowledged")


async def test_acknowledging_stops_escalation(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    await vigil.press(people.OFFICER, "ack:1", 1)

    await vigil.advance(hours=2)

    assert vigil.tw.messages == []
    assert vigil.alert(1).steps_run == 0


async def test_a_second_acknowledger_is_recorded_as_responding(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    await vigil.press(people.OFFICER, "ack:1", 1)

    await vigil.press(people.OFFICER_2, "ack:1", 1)

    assert vigil.alert(1).acknowledged_by_id != people.member_id(
        vigil.vigil.stores.roster, people.OFFICER_2
    )
    assert "Also responding: Sara Khan" in vigil.card(1)
    assert "recorded as responding" in vigil.tg.callback_answers[-1]["text"]


async def test_a_diplomat_cannot_acknowledge_and_nothing_changes(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    before = vigil.card(1)

    await vigil.press(people.CONSUL_2, "ack:1", 1)

    answer = vigil.tg.callback_answers[-1]
    assert answer["show_alert"] is True and "Only command, officer, supervisor" in answer["text"]
    assert vigil.alert(1).state == "waiting" and vigil.card(1) == before


async def test_an_outsider_pressing_a_button_gets_a_popup(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.press(people.OUTSIDER, "resolve:1", 1)

    assert "not on Vigil's roster" in vigil.tg.callback_answers[-1]["text"]
    assert vigil.alert(1).state == "waiting"


async def test_ack_alone_takes_the_only_waiting_alert(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.say(people.OFFICER, "/ack")

    assert vigil.alert(1).state == "acknowledged"
    assert vigil.last_reply() == "Alert #1 acknowledged. Escalation has stopped."


async def test_ack_alone_asks_which_when_several_wait(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    await vigil.say(people.CONSUL_2, "/alert high Protest at the consulate")

    await vigil.say(people.OFFICER, "/ack")

    assert vigil.last_reply() == "Several alerts are open: #1, #2. Say which, e.g. /ack 1."
    assert vigil.alert(1).state == vigil.alert(2).state == "waiting"


async def test_ack_with_nothing_open_says_so(vigil: Harness) -> None:
    await vigil.say(people.OFFICER, "/ack")

    assert vigil.last_reply() == "No alert is waiting for acknowledgement."


async def test_ack_with_a_bad_number_shows_the_usage(vigil: Harness) -> None:
    await vigil.say(people.OFFICER, "/ack twelve")
    assert vigil.last_reply().startswith("Usage: /ack")

    await vigil.say(people.OFFICER, "/ack 42")
    assert vigil.last_reply() == "There is no alert #42."


async def test_the_reporter_may_resolve_their_own_alert_as_a_false_alarm(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.say(people.CONSUL, "/resolve 1 false alarm, it was a delivery van")

    alert = vigil.alert(1)
    assert alert.state == "resolved" and alert.resolution_note == (
        "false alarm, it was a delivery van"
    )
    card = vigil.card(1)
    assert "Resolved by Jane Doe at 14:00" in card and "delivery van" in card
    assert vigil.card_message(1).get("reply_markup") is None


async def test_another_diplomat_may_not_resolve_it(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.say(people.CONSUL_2, "/resolve 1")

    assert vigil.alert(1).state == "waiting"
    assert "the person who raised it" in vigil.last_reply()


async def test_resolve_by_button_closes_the_alert_and_stops_escalation(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.press(people.SUPERVISOR, "resolve:1", 1)
    await vigil.advance(hours=1)

    assert vigil.alert(1).state == "resolved"
    assert vigil.tw.messages == []
    assert vigil.tg.callback_answers[-1]["text"] == "Alert #1 resolved."
    assert "Resolved by Omar Farooq" in vigil.card(1)


async def test_a_diplomat_pressing_resolve_on_someone_elses_alert_is_refused(
    vigil: Harness,
) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.press(people.CONSUL_2, "resolve:1", 1)

    answer = vigil.tg.callback_answers[-1]
    assert answer["show_alert"] is True and "the person who raised it" in answer["text"]
    assert vigil.alert(1).state == "waiting"


async def test_resolve_without_a_number_shows_the_usage(vigil: Harness) -> None:
    await vigil.say(people.OFFICER, "/resolve")

    assert vigil.last_reply().startswith("Usage: /resolve <alert number>")


async def test_a_stale_or_forged_button_changes_nothing(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)

    await vigil.press(people.OFFICER, "ack:not-a-number", 1)
    await vigil.press(people.OFFICER, "ack:99", 1)

    assert vigil.alert(1).state == "waiting"
    answers = [a["text"] for a in vigil.tg.callback_answers[-2:]]
    assert answers == ["This button is no longer valid.", "There is no alert #99."]


async def test_a_resolved_card_still_says_who_acknowledged(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, ALERT)
    vigil.clock.advance(minutes=3)
    await vigil.press(people.OFFICER, "ack:1", 1)
    vigil.clock.advance(minutes=20)

    await vigil.say(people.OFFICER, "/resolve 1 vehicle towed")

    assert "Resolved by Ali Raza at 14:23 (acknowledged by Ali Raza at 14:03)" in vigil.card(1)
