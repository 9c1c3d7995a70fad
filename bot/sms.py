"""Sending SMS through Twilio, behind a small interface of our own.

Errors the provider can raise:

    SmsError                  something went wrong; `.code` is Twilio's error code, if any
    ├── PermanentSmsError     retrying cannot help (bad number, region, opted out, ...)
    └── TransientSmsError     timeouts, connection failures, 5xx, 20429: try again later
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.phones import mask
from config.settings import TwilioSettings

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
REQUEST_TIMEOUT = 10.0

ERROR_NAMES = {
    20003: "Twilio refused our credentials",
    20429: "Twilio rate limit",
    21211: "invalid number",
    21408: "SMS to that region not enabled",
    21610: "recipient has opted out",
    21614: "not a mobile number",
}
RETRYABLE_CODES = frozenset({20429})


class SmsError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class PermanentSmsError(SmsError):
    """Sending again will fail the same way."""


class TransientSmsError(SmsError):
    """Sending again later may work."""


def describe_error(code: int | None) -> str:
    """A short, user-safe name for a provider error code."""
    if code is None:
        return "no answer from the SMS provider"
    return f"{ERROR_NAMES.get(code, 'SMS provider error')}, {code}"


class SmsProvider(Protocol):
    async def send(self, to: str, body: str) -> str:
        """Send one SMS; return the provider's message id or raise SmsError."""
        ...

    async def close(self) -> None: ...


class _AimedHttpClient(AsyncTwilioHttpClient):
    """Twilio's own async client, pointed at another base URL and bounded by a timeout."""

    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = (base_url or TWILIO_API).rstrip("/")
        self.request_timeout = timeout

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        # aiohttp wants a ClientTimeout object; bound the whole exchange here instead.
        kwargs["timeout"] = None
        async with asyncio.timeout(self.request_timeout):
            return await super().request(method, url, *args, **kwargs)


class TwilioSms:
    """SMS through Twilio's REST API, without blocking the event loop."""

    def __init__(self, settings: TwilioSettings, timeout: float = REQUEST_TIMEOUT) -> None:
        self.sender = settings.from_number
        self.http = _AimedHttpClient(settings.api_base_url, timeout)
        self.client = Client(settings.account_sid, settings.auth_token, http_client=self.http)

    async def send(self, to: str, body: str) -> str:
        sender = (
            {"messaging_service_sid": self.sender}
            if self.sender.startswith("MG")
            else {"from_": self.sender}
        )
        try:
            message = await self.client.messages.create_async(to=to, body=body, **sender)
        except TwilioRestException as error:
            raise _classify(error) from None
        except (TimeoutError, OSError) as error:
            raise TransientSmsError(f"no answer from Twilio ({type(error).__name__})") from None
        except Exception as error:  # aiohttp's ClientError and friends
            if type(error).__module__.startswith("aiohttp"):
                raise TransientSmsError(f"Twilio unreachable ({type(error).__name__})") from None
            raise
        logger.info("SMS to %s accepted by Twilio as %s", mask(to), message.sid)
        return str(message.sid)

    async def close(self) -> None:
        await self.http.close()


def _classify(error: TwilioRestException) -> SmsError:
    code = error.code if isinstance(error.code, int) else None
    reason = f"Twilio answered {error.status}" + (f" with error {code}" if code else "")
    if error.status >= 500 or error.status == 429 or code in RETRYABLE_CODES:
        return TransientSmsError(reason, code)
    return PermanentSmsError(reason, code)
