"""Logs tell what happened, and never carry the bot token or a whole phone number."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import MaskPhones, Redact, setup_logging
from tests.fakes import updates
from tests.support import people
from tests.support.harness import AUTH_TOKEN, TOKEN, Harness


@pytest.fixture
def production_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Vigil's own logging set-up at DEBUG, into a buffer; restored afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    monkeypatch.setenv("VIGIL_LOG_LEVEL", "DEBUG")
    buffer = io.StringIO()
    setup_logging([TOKEN, AUTH_TOKEN], buffer)
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


async def test_a_whole_alert_and_escalation_logs_no_token_or_phone(
    vigil: Harness, production_log: io.StringIO
) -> None:
    vigil.tw.fail_number(people.PHONES[301], code=21610)
    await vigil.say(people.OFFICER, "/offduty")
    await vigil.say(people.CONSUL, "/alert critical Suspicious vehicle at the main gate")

    await vigil.advance(minutes=5)

    text = production_log.getvalue()
    assert "Alert #1 raised" in text and "Alert #1 escalated" in text
    assert "+92••••••0003: failed (21610)" in text
    assert TOKEN not in text and AUTH_TOKEN not in text
    assert not any(phone in text for phone in people.PHONES.values())
    info = [line for line in text.splitlines() if " INFO " in line]
    assert info and not any("Suspicious vehicle" in line for line in info)


def test_the_redacting_filter_hides_secrets_in_messages_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "calling %s", (TOKEN,), None)
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TOKEN}/getMe failed")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()

    Redact([TOKEN]).filter(record)

    assert TOKEN not in record.getMessage() and TOKEN not in (record.exc_text or "")


async def test_onboarding_and_whois_log_no_whole_phone_even_at_debug(
    vigil: Harness, production_log: io.StringIO
) -> None:
    logging.getLogger("telegram").debug("Update: {'contact': {'phone_number': '923004445556'}}")
    await vigil.say(people.ADMIN, "/whois 201", chat=updates.private_chat(people.ADMIN))

    text = production_log.getvalue()
    assert "923004445556" not in text and people.PHONES[201] not in text
    assert "'phone_number': '92••••••5556'" in text


def test_the_phone_filter_masks_numbers_with_and_without_a_plus() -> None:
    line = "sent to +923001110001; contact phone_number': '923001110002"
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "%s", (line,), None)

    MaskPhones().filter(record)

    assert record.getMessage() == "sent to +92••••••0001; contact phone_number': '92••••••0002"


def test_invitation_codes_are_hidden_in_log_lines() -> None:
    from bot.logs import MaskPhones

    text = (
        "sendMessage text='https://t.me/vigil_test_bot?start=Zq81_xkPwe' and '/start Zq81_xkPwe'"
    )
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "%s", (text,), None)

    MaskPhones().filter(record)

    assert "Zq81_xkPwe" not in record.getMessage() and "start=[code]" in record.getMessage()
