"""A fake Twilio REST API (Messages only) on 127.0.0.1 for the real twilio client to talk to.

In a test::

    async with FakeTwilio() as tw:
        client = Client(tw.account_sid, tw.auth_token, http_client=aimed_http_client(tw.base_url))

On its own: ``python -m tests.fakes.twilio --port 8082`` prints the base URL (which replaces
``https://api.twilio.com``) and serves until SIGINT or SIGTERM. The HTTP control endpoints
under ``/_control/`` do over HTTP what the Python methods below do in-process.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import math
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response as TwilioResponse

from tests.fakes._server import (
    LoopbackServer,
    Signal,
    command_line_parser,
    control_call,
    json_ok,
    serve_until_signalled,
)

__all__ = ["FakeTwilio", "SentSms", "TwilioRequest", "aimed_http_client"]

TWILIO_API = "https://api.twilio.com"
API_VERSION = "2010-04-01"
DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"
BODY_LIMIT = 1600

_E164 = re.compile(r"(?:[a-z]+:)?\+[1-9][0-9]{6,14}")
# GSM 03.38: a message in these characters packs 160 to a segment, anything else 70.
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = "^{}\\[~]|€\f"

_ERROR_MESSAGES = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "The 'To' number {to} is not a valid phone number.",
    21408: (
        "Permission to send an SMS has not been enabled for the region indicated by the "
        "'To' number: {to}"
    ),
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
_STATUS_MESSAGES = {
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_sids = itertools.count(1)


class TwilioError(Exception):
    """An answer in Twilio's error format; `code` None leaves the code out of the body."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON Twilio answers with."""
        if self.code is None:
            return {"message": self.message, "status": self.status}
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def coded_error(code: int, status: int = 400, to: str = "") -> TwilioError:
    """An error with Twilio's wording for `code` (about recipient `to` where it names one)."""
    message = _ERROR_MESSAGES.get(code, f"Error {code}").format(to=to)
    return TwilioError(status, code, message)


@dataclass(frozen=True)
class TwilioRequest:
    """One request to the Messages API and what the fake answered."""

    method: str
    path: str
    form: dict[str, str | list[str]]
    at: float
    status: int
    answer: dict[str, Any]


@dataclass
class SentSms:
    """A message Twilio accepted: the form's fields and the resource it returned."""

    sid: str
    to: str
    from_: str | None
    body: str
    received_at: float
    status: str
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    resource: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class _Outage:
    remaining: int
    status: int
    code: int | None


class FakeTwilio(LoopbackServer):
    """Twilio's Messages resource: Basic auth, coded errors, outages and slow answers."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._changed = Signal()
        self.messages: list[SentSms] = []
        self.requests: list[TwilioRequest] = []
        self._refused: dict[str, TwilioError] = {}
        self._outages: list[_Outage] = []
        self._delay = 0.0

    def reset(self) -> None:
        """Forget messages, requests, refused numbers, outages and the delay."""
        self.messages.clear()
        self.requests.clear()
        self._refused.clear()
        self._outages.clear()
        self._delay = 0.0

    def fail_number(self, e164: str, code: int = 21211, status: int = 400) -> None:
        """Refuse every message to `e164` with a coded error, as for a bad or barred number."""
        self._refused[e164] = coded_error(code, status, e164)

    def fail_next(self, times: int = 1, status: int = 500, code: int | None = None) -> None:
        """Answer the next `times` sends with `status` (429 gets code 20429 unless given)."""
        if status == 429 and code is None:
            code = 20429
        self._outages.append(_Outage(times, status, code))

    def delay(self, seconds: float) -> None:
        """Answer every request `seconds` late; the message counts as sent before the wait."""
        self._delay = seconds

    async def wait_for_messages(self, n: int, timeout: float = 5.0) -> list[SentSms]:
        """Return the first `n` accepted messages once that many have arrived."""

        def describe() -> str:
            return f"{len(self.messages)} of {n} messages within {timeout} s"

        return await self._changed.wait_for(
            lambda: self.messages[:n] if len(self.messages) >= n else None, timeout, describe
        )

    # Serving.

    def build_app(self) -> web.Application:
        """Route the Messages API and the control endpoints."""
        account = f"/{API_VERSION}/Accounts/{{account_sid}}"
        app = web.Application()
        app.add_routes(
            [
                web.post(f"{account}/Messages.json", self._create_message),
                web.get(f"{account}/Messages/{{sid}}.json", self._fetch_message, allow_head=False),
                web.get("/_control/messages", self._control_messages),
                web.get("/_control/requests", self._control_requests),
                web.post("/_control/fail_number", self._control_fail_number),
                web.post("/_control/fail_next", self._control_fail_next),
                web.post("/_control/delay", self._control_delay),
                web.post("/_control/reset", self._control_reset),
            ]
        )
        return app

    async def _create_message(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        form = await _read_form(request)
        try:
            self._authenticate(request)
            self._take_outage()
            status, answer = 201, self._accept(form, arrived)
        except TwilioError as error:
            status, answer = error.status, error.body()
        self._record(request, form, arrived, status, answer)
        await self.pause(self._delay)
        return web.json_response(answer, status=status)

    async def _fetch_message(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        try:
            self._authenticate(request)
            status, answer = 200, self._stored(request.match_info["sid"], request.path).resource
        except TwilioError as error:
            status, answer = error.status, error.body()
        self._record(request, {}, arrived, status, answer)
        await self.pause(self._delay)
        return web.json_response(answer, status=status)

    def _authenticate(self, request: web.Request) -> None:
        credentials = _basic_credentials(request.headers.get("Authorization", ""))
        expected = (self.account_sid, self.auth_token)
        if credentials != expected or request.match_info["account_sid"] != self.account_sid:
            raise coded_error(20003, 401)

    def _take_outage(self) -> None:
        if not self._outages:
            return
        outage = self._outages[0]
        outage.remaining -= 1
        if outage.remaining <= 0:
            self._outages.pop(0)
        if outage.code is not None:
            raise coded_error(outage.code, outage.status)
        message = _STATUS_MESSAGES.get(outage.status, f"HTTP {outage.status}")
        raise TwilioError(outage.status, None, message)

    def _accept(self, form: Mapping[str, Any], arrived: float) -> dict[str, Any]:
        to, body = _single(form, "To") or "", _single(form, "Body") or ""
        sender, service = _single(form, "From"), _single(form, "MessagingServiceSid")
        _validate(to, body, sender, service, form)
        if to in self._refused:
            raise self._refused[to]
        sid = f"SM{next(_sids):032x}"
        resource = self._resource(sid, to, body, sender, service)
        callback = _single(form, "StatusCallback")
        sms = SentSms(
            sid, to, sender, body, arrived, resource["status"], service, callback, resource
        )
        self.messages.append(sms)
        return resource

    def _resource(
        self, sid: str, to: str, body: str, sender: str | None, service: str | None
    ) -> dict[str, Any]:
        now = format_datetime(datetime.now(UTC).replace(microsecond=0))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            # Through a Messaging Service Twilio picks the sender later, and says "accepted".
            "from": None if service and not sender else sender,
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": to,
            "uri": f"{uri}.json",
        }

    def _stored(self, sid: str, path: str) -> SentSms:
        for sms in self.messages:
            if sms.sid == sid:
                return sms
        raise TwilioError(404, 20404, f"The requested resource {path} was not found")

    def _record(
        self,
        request: web.Request,
        form: dict[str, str | list[str]],
        arrived: float,
        status: int,
        answer: dict[str, Any],
    ) -> None:
        self.requests.append(
            TwilioRequest(request.method, request.path, form, arrived, status, answer)
        )
        self._changed.notify()

    # Control endpoints.

    async def _control_messages(self, request: web.Request) -> web.Response:
        return json_ok([_sms_json(sms) for sms in self.messages])

    async def _control_requests(self, request: web.Request) -> web.Response:
        return json_ok([asdict(recorded) for recorded in self.requests])

    async def _control_fail_number(self, request: web.Request) -> web.Response:
        return await control_call(request, self.fail_number)

    async def _control_fail_next(self, request: web.Request) -> web.Response:
        return await control_call(request, self.fail_next)

    async def _control_delay(self, request: web.Request) -> web.Response:
        return await control_call(request, self.delay)

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return json_ok(True)


class _AimedHttpClient(AsyncTwilioHttpClient):
    """The stock async client, sent to another host and honouring its own `timeout`."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        """Send the request to `base_url` instead of api.twilio.com."""
        if url.startswith(TWILIO_API):
            url = self.base_url + url.removeprefix(TWILIO_API)
        # The stock client passes timeout=None on to aiohttp, which then never times out.
        timeout = self.timeout if timeout is None else timeout
        return await super().request(
            method, url, params, data, headers, auth, timeout, allow_redirects
        )


def aimed_http_client(base_url: str, **kwargs: Any) -> AsyncTwilioHttpClient:
    """An AsyncTwilioHttpClient that talks to `base_url`; call it inside the event loop."""
    return _AimedHttpClient(base_url, **kwargs)


def segments(body: str) -> int:
    """How many SMS segments Twilio bills `body` as."""
    if all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in body):
        septets = len(body) + sum(char in _GSM_EXTENDED for char in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def _validate(
    to: str, body: str, sender: str | None, service: str | None, form: Mapping[str, Any]
) -> None:
    if not to:
        raise coded_error(21604)
    if not body and not form.get("MediaUrl") and not form.get("ContentSid"):
        raise coded_error(21602)
    if not sender and not service:
        raise coded_error(21603)
    if not _E164.fullmatch(to):
        raise coded_error(21211, to=to)
    if len(body) > BODY_LIMIT:
        raise coded_error(21617)


async def _read_form(request: web.Request) -> dict[str, str | list[str]]:
    if not request.can_read_body:
        return {}
    posted = await request.post()
    form: dict[str, str | list[str]] = {}
    for key in dict.fromkeys(posted.keys()):
        values = [str(value) for value in posted.getall(key)]
        form[key] = values if len(values) > 1 else values[0]
    return form


def _single(form: Mapping[str, Any], key: str) -> str | None:
    """The field's value (the last one when repeated), or None when it is absent or empty."""
    value = form.get(key)
    value = value[-1] if isinstance(value, list) else value
    return value or None


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def _sms_json(sms: SentSms) -> dict[str, Any]:
    return {**asdict(sms), "from": sms.from_}


def main(argv: list[str] | None = None) -> None:
    """Serve the fake Twilio API until interrupted."""
    parser = command_line_parser("Serve a fake Twilio Messages API on 127.0.0.1.")
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--auth-token", default=DEFAULT_AUTH_TOKEN)
    args = parser.parse_args(argv)
    fake = FakeTwilio(args.account_sid, args.auth_token, port=args.port)
    asyncio.run(serve_until_signalled(fake))


if __name__ == "__main__":
    main()
