"""/roster, /whois, /setrole, /remove and /whoami, and the card's address and map link."""

from __future__ import annotations

from bot.phones import mask
from storage.audit import Actor
from storage.directory import OrganisationRecord
from tests.fakes import updates
from tests.support import people
from tests.support.harness import Harness


def _private(vigil: Harness, user: dict) -> str:
    reply = vigil.tg.last_message(user["id"])
    assert reply is not None
    return reply.text


async def test_roster_lists_members_by_organisation_with_phones_masked(vigil: Harness) -> None:
    await vigil.say(people.ADMIN, "/roster")

    text = vigil.last_reply()
    assert "Police\n• Ali Raza · officer · " + mask(people.PHONES[201]) in text
    assert people.PHONES[201] not in text
    assert text.index("Consulate of Denmark") < text.index("Rangers")


async def test_whois_shows_the_whole_phone_only_to_an_admin_in_private(vigil: Harness) -> None:
    await vigil.say(people.ADMIN, "/whois @nobody")
    assert vigil.last_reply() == "Nobody on the roster matches “@nobody”."

    await vigil.say(people.ADMIN, "/whois Ali Raza")
    assert mask(people.PHONES[201]) in vigil.last_reply()

    await vigil.say(people.ADMIN, "/whois 201", chat=updates.private_chat(people.ADMIN))
    assert f"Phone: {people.PHONES[201]}" in _private(vigil, people.ADMIN)


async def test_whoami_shows_your_own_entry(vigil: Harness) -> None:
    await vigil.say(people.OFFICER, "/whoami")

    text = vigil.last_reply()
    assert text.startswith("Ali Raza\nRole: officer\nOrganisation: Police")
    assert mask(people.PHONES[201]) in text and "On duty" in text

    await vigil.say(people.OUTSIDER, "/whoami")
    assert "Ask an admin of the security cell to invite you" in vigil.last_reply()


async def test_setrole_by_reply_and_by_name_is_audited(vigil: Harness) -> None:
    said = await vigil.say(people.CONSUL, "/status")
    reply = updates.command(
        "/setrole officer", from_user=people.ADMIN, chat=updates.group(vigil.vigil.group.id)
    )
    reply["message"]["reply_to_message"] = said["message"]

    await vigil.feed(reply)
    assert vigil.last_reply() == "Jane Doe is now officer (was consulate)."

    await vigil.say(people.ADMIN, "/setrole Jane Doe consulate")
    assert vigil.last_reply() == "Jane Doe is now consulate (was officer)."
    (first, second) = [
        e for e in vigil.vigil.stores.audit.entries() if e.action == "roster.set_role"
    ]
    assert first.actor == "Ayesha Malik (member 7)" and '"role": "officer"' in (first.after or "")
    assert '"role": "officer"' in (second.before or "")


async def test_a_removed_member_can_no_longer_act(vigil: Harness) -> None:
    await vigil.say(people.ADMIN, "/remove @nobody_at_all")
    assert vigil.last_reply().startswith("Nobody on the roster matches")
    await vigil.say(people.ADMIN, "/remove Omar Farooq")
    assert vigil.last_reply() == "Omar Farooq is no longer on the roster."

    await vigil.say(people.SUPERVISOR, "/alert critical Fire")

    assert "not on Vigil's roster" in vigil.last_reply()
    assert vigil.vigil.stores.roster.tier("supervisors") == []
    (entry,) = [e for e in vigil.vigil.stores.audit.entries() if e.action == "roster.remove"]
    assert '"active": false' in (entry.after or "")


async def test_an_ambiguous_name_asks_for_a_username(vigil: Harness) -> None:
    await vigil.say(people.ADMIN, "/whois khan")

    assert vigil.last_reply().startswith("Several people match: ")


async def test_the_card_shows_the_address_and_a_map_link_and_the_sms_a_short_address(
    vigil: Harness,
) -> None:
    record = OrganisationRecord(
        "Consulate of Norway", "consulate", "12 Embassy Road, Clifton, Karachi", 24.8138, 67.03
    )
    vigil.vigil.stores.directory.upsert_organisation(record, vigil.clock.now(), Actor("test"))

    await vigil.say(people.CONSUL, "/alert critical Suspicious vehicle")
    await vigil.advance(minutes=2)

    card = vigil.card(1)
    assert "📍 12 Embassy Road, Clifton, Karachi · map" in card
    sent = [
        c.params["text"] for c in vigil.tg.calls_to("sendMessage") if "ALERT" in c.params["text"]
    ]
    assert 'href="https://www.openstreetmap.org/?mlat=24.8138&amp;mlon=67.03' in sent[0]
    (sms,) = vigil.tw.messages
    assert sms.body.startswith("VIGIL #1 CRITICAL Consulate of Norway at 12 Embassy Road, Clifton")


async def test_every_alert_change_is_audited(vigil: Harness) -> None:
    await vigil.say(people.CONSUL, "/alert critical Fire")
    await vigil.press(people.OFFICER, "ack:1", 1)
    await vigil.press(people.SUPERVISOR, "ack:1", 1)
    await vigil.say(people.OFFICER, "/resolve 1 out")

    entries = [(e.actor, e.action, e.target) for e in vigil.vigil.stores.audit.entries()]

    assert [e for e in entries if e[1].startswith("alert.")] == [
        ("Jane Doe (member 1)", "alert.raise", "alert #1"),
        ("Ali Raza (member 3)", "alert.acknowledge", "alert #1"),
        ("Omar Farooq (member 5)", "alert.respond", "alert #1"),
        ("Ali Raza (member 3)", "alert.resolve", "alert #1"),
    ]


async def test_the_last_admin_cannot_be_demoted(vigil: Harness) -> None:
    await vigil.say(people.ADMIN, "/setrole Ayesha Malik officer")

    assert vigil.last_reply().startswith("That would leave Vigil without an admin")
