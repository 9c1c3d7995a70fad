"""Fixtures that start the fakes and aim the real clients at them."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import pytest
import telegram
from telegram.request import HTTPXRequest
from twilio.rest import Client

from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio, aimed_http_client

BOT_TOKEN = "7000001:fake-token-for-tests"

# The fakes speak plain HTTP; one shared TLS context spares each Bot loading the CA bundle.
_TLS = ssl.create_default_context()


def loopback_request() -> HTTPXRequest:
    """PTB's own request class, minus the per-client certificate loading."""
    return HTTPXRequest(httpx_kwargs={"verify": _TLS})


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API server for one test."""
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    """The real PTB Bot, initialised against the fake (so getMe has been called)."""
    real_bot = telegram.Bot(
        BOT_TOKEN,
        base_url=tg.base_url,
        request=loopback_request(),
        get_updates_request=loopback_request(),
    )
    async with real_bot:
        yield real_bot


@pytest.fixture
async def tw() -> AsyncIterator[FakeTwilio]:
    """A fake Twilio API server for one test."""
    async with FakeTwilio() as fake:
        yield fake


@pytest.fixture
async def sms_client(tw: FakeTwilio) -> AsyncIterator[Client]:
    """The real twilio client, aimed at the fake with a 5 s request timeout."""
    http_client = aimed_http_client(tw.base_url, timeout=5)
    yield Client(tw.account_sid, tw.auth_token, http_client=http_client)
    await http_client.close()
