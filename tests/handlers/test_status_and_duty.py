"""/status, /status N, and going on and off duty."""

from __future__ import annotations

from tests.support import people
from tests.support.harness import Harness


async def test_status_lists_open_alerts_with_age_and_owner(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert critical Suspicious vehicle at the main gate")
    await vigil.say(people.CONSUL_2, "/alert normal Power cut")
    await vigil.press(people.OFFICER, "ack:2", 2)
    vigil.clock.advance(minutes=7)

    await vigil.say(people.CONSUL, "/status")

    text = vigil.last_reply()
    assert "Open alerts (2)" in text
    assert "#1 critical · Consulate of Norway · 7 min · waiting · escalation: nobody" in text
    assert "#2 normal · Consulate of Denmark · 7 min · acknowledged by Ali Raza" in text


async def test_status_with_nothing_open_says_so(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/status")

    assert vigil.last_reply() == "✅ No open alerts."


async def test_status_n_shows_the_timeline_with_sms_outcomes(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert critical Suspicious vehicle at the main gate")
    await vigil.advance(minutes=2)
    await vigil.press(people.OFFICER, "ack:1", 1)
    vigil.clock.advance(minutes=10)
    await vigil.say(people.OFFICER, "/resolve 1 cleared")

    await vigil.say(people.CONSUL, "/status 1")

    lines = vigil.last_reply().splitlines()
    assert lines[0].startswith("🔴 Alert #1 · critical · Consulate of Norway · resolved")
    assert lines[3:] == [
        "14:00 raised by Jane Doe",
        "14:02 step 1 → the duty officers: SMS Ali Raza sent",
        "14:02 acknowledged by Ali Raza",
        "14:12 resolved by Ali Raza: cleared",
    ]


async def test_status_n_for_an_unknown_alert_says_so(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/status 7")
    assert vigil.last_reply() == "There is no alert #7."

    await vigil.say(people.CONSUL, "/status seven")
    assert vigil.last_reply().startswith("Usage: /status")


async def test_officers_go_on_and_off_duty_and_oncall_lists_them(vigil: Harness) -> None:
    await vigil.say(people.OFFICER_2, "/onduty")
    assert vigil.last_reply() == "Sara Khan is now on duty."

    await vigil.say(people.CONSUL, "/oncall")
    text = vigil.last_reply()
    assert "Ali Raza (officer, Police)" in text and "Sara Khan (officer, Rangers)" in text

    await vigil.say(people.OFFICER, "/offduty")
    await vigil.say(people.OFFICER_2, "/offduty")
    await vigil.say(people.CONSUL, "/oncall")
    assert vigil.last_reply().startswith("⚠️ Nobody is on duty")


async def test_a_diplomat_cannot_go_on_duty(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/onduty")

    assert vigil.last_reply().startswith(
        "Only command, officer, supervisor can go on or off duty."
    )


async def test_someone_known_by_username_is_linked_on_first_message(vigil: Harness) -> None:
    from storage.roster import MemberRecord

    newcomer = {"id": 777, "is_bot": False, "first_name": "Bilal", "username": "Bilal_R"}
    vigil.vigil.stores.roster.upsert(
        MemberRecord("Bilal Rana", "officer", "Police", None, None, "bilal_r"), vigil.clock.now()
    )

    await vigil.say(newcomer, "/onduty")

    assert vigil.last_reply() == "Bilal Rana is now on duty."
    member = vigil.vigil.stores.roster.identify(777, None, vigil.clock.now())
    assert member is not None and member.name == "Bilal Rana"
    (linked,) = [e for e in vigil.vigil.stores.audit.entries() if e.action == "roster.link"]
    assert linked.after == '{"telegram_user_id": 777}'


async def test_help_lists_meeting_planning_only_to_admins(vigil: Harness) -> None:
    from tests.fakes import updates

    await vigil.say(people.ADMIN, "/help", chat=updates.private_chat(people.ADMIN))
    admin = vigil.tg.last_message(people.ADMIN["id"]).text
    await vigil.say(people.CONSUL, "/help", chat=updates.private_chat(people.CONSUL))
    consul = vigil.tg.last_message(people.CONSUL["id"]).text

    assert "/meeting every" in admin and "/agenda add" in admin
    assert "/meeting — the next security meeting" in consul and "/meeting every" not in consul
