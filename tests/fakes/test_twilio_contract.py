"""The real twilio client, the fake Twilio and Twilio's published OpenAPI all agree."""

from __future__ import annotations

import json
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.fakes.twilio import FakeTwilio, aimed_http_client
from tests.fixtures import extract_twilio_openapi as extract

# aiohttp 3.14 deprecates the BasicAuth argument that twilio 9's async client still passes.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'auth' parameter is deprecated:DeprecationWarning"
)

OPENAPI = json.loads(extract.TARGET.read_text(encoding="utf-8"))
SCHEMAS = OPENAPI["components"]["schemas"]
MESSAGE_SCHEMA = SCHEMAS[extract.MESSAGE_SCHEMA]
REQUEST_SCHEMA = OPENAPI["paths"][extract.MESSAGES_PATH]["post"]["requestBody"]["content"][
    extract.FORM
]["schema"]

TO = "+15005550006"
FROM = "+15005550001"
SERVICE = "MG" + "ab" * 16

FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time-rfc-2822", raises=(TypeError, ValueError))
def _is_rfc_2822(value: object) -> bool:
    return not isinstance(value, str) or parsedate_to_datetime(value).tzinfo is not None


@FORMATS.checks("phone-number")
def _is_e164(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"\+[1-9][0-9]{6,14}", value) is not None


@FORMATS.checks("currency")
def _is_currency_code(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"[A-Za-z]{3}", value) is not None


def as_json_schema(node: Any) -> Any:
    """Rewrite OpenAPI 3.0's ``nullable: true`` as JSON Schema's extra "null" type."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: as_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") and "type" in node:
        converted["type"] = [node["type"], "null"]
    return converted


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """Validate against `schema`, resolving its $refs inside the extract."""
    root = {**as_json_schema(schema), "components": as_json_schema(OPENAPI["components"])}
    return Draft202012Validator(root, format_checker=FORMATS)


MESSAGE_VALIDATOR = validator(MESSAGE_SCHEMA)
# Closed to extra fields: every parameter the client sends must be a documented one.
REQUEST_VALIDATOR = validator({**REQUEST_SCHEMA, "additionalProperties": False})


def typed_form(form: dict[str, str | list[str]]) -> dict[str, Any]:
    """A urlencoded form with each value read as the type its parameter is declared with."""
    properties = REQUEST_SCHEMA["properties"]
    return {key: _typed(value, _resolved(properties.get(key, {}))) for key, value in form.items()}


def _resolved(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _typed(value: str | list[str], schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        return value if isinstance(value, list) else [value]
    if isinstance(value, list):
        return value
    if kind == "integer":
        return int(value)
    if kind == "number":
        return float(value)
    if kind == "boolean":
        return {"true": True, "false": False}.get(value, value)
    return value


async def test_the_client_sends_a_form_the_openapi_request_body_accepts(
    tw: FakeTwilio, sms_client: Client
) -> None:
    await sms_client.messages.create_async(
        to=TO,
        from_=FROM,
        body="🚨 Fire in hall B",
        status_callback="https://vigil.example/sms/status",
        validity_period=600,
        provide_feedback=True,
    )

    form = tw.requests[-1].form
    REQUEST_VALIDATOR.validate(typed_form(form))
    assert (form["To"], form["From"], form["Body"]) == (TO, FROM, "🚨 Fire in hall B")
    assert (form["ValidityPeriod"], form["ProvideFeedback"]) == ("600", "true")


async def test_the_answer_has_every_property_of_the_message_schema(
    tw: FakeTwilio, sms_client: Client
) -> None:
    await sms_client.messages.create_async(to=TO, from_=FROM, body="Fire in hall B")

    answer = tw.requests[-1].answer
    MESSAGE_VALIDATOR.validate(answer)
    assert set(answer) == set(MESSAGE_SCHEMA["properties"])
    assert tw.requests[-1].status == 201


async def test_the_client_parses_the_answer_into_a_message_instance(
    tw: FakeTwilio, sms_client: Client
) -> None:
    sent = await sms_client.messages.create_async(to=TO, from_=FROM, body="Fire in hall B")

    (recorded,) = tw.messages
    assert (sent.sid, sent.status, sent.to, sent.from_) == (recorded.sid, "queued", TO, FROM)
    assert re.fullmatch(r"SM[0-9a-f]{32}", sent.sid)
    assert sent.date_created.tzinfo is not None and sent.date_sent is None
    assert (sent.num_segments, sent.direction, sent.price_unit) == ("1", "outbound-api", "USD")


async def test_a_messaging_service_send_is_accepted_without_a_sender(
    tw: FakeTwilio, sms_client: Client
) -> None:
    sent = await sms_client.messages.create_async(
        to=TO, messaging_service_sid=SERVICE, body="Fire"
    )

    REQUEST_VALIDATOR.validate(typed_form(tw.requests[-1].form))
    MESSAGE_VALIDATOR.validate(tw.requests[-1].answer)
    assert (sent.status, sent.from_, sent.messaging_service_sid) == ("accepted", None, SERVICE)


async def test_a_stored_message_can_be_fetched_by_sid(sms_client: Client) -> None:
    sent = await sms_client.messages.create_async(to=TO, from_=FROM, body="Fire")

    fetched = await sms_client.messages(sent.sid).fetch_async()

    assert (fetched.sid, fetched.body, fetched.status) == (sent.sid, "Fire", "queued")


async def test_fetching_an_unknown_sid_is_a_coded_404(tw: FakeTwilio, sms_client: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await sms_client.messages("SM" + "0" * 32).fetch_async()

    assert (caught.value.status, caught.value.code) == (404, 20404)
    assert (tw.requests[-1].method, tw.requests[-1].status) == ("GET", 404)


@pytest.mark.parametrize("code", [21211, 21408, 21610, 21614])
async def test_a_refused_number_surfaces_as_twilio_rest_exception(
    tw: FakeTwilio, sms_client: Client, code: int
) -> None:
    tw.fail_number(TO, code=code)

    with pytest.raises(TwilioRestException) as caught:
        await sms_client.messages.create_async(to=TO, from_=FROM, body="Fire")

    assert (caught.value.code, caught.value.status) == (code, 400)
    assert tw.requests[-1].answer["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert tw.messages == []


async def test_twilios_error_text_can_carry_the_full_phone_number(
    tw: FakeTwilio, sms_client: Client
) -> None:
    tw.fail_number(TO)

    with pytest.raises(TwilioRestException) as caught:
        await sms_client.messages.create_async(to=TO, from_=FROM, body="Fire")

    # So logging str(error) or error.msg would log a whole number; log the code instead.
    assert TO in caught.value.msg


@pytest.mark.parametrize(
    ("status", "code", "client_code"), [(500, None, 500), (503, 20503, 20503), (429, None, 20429)]
)
async def test_an_outage_surfaces_with_its_status_and_then_passes(
    tw: FakeTwilio, sms_client: Client, status: int, code: int | None, client_code: int
) -> None:
    tw.fail_next(status=status, code=code)

    with pytest.raises(TwilioRestException) as caught:
        await sms_client.messages.create_async(to=TO, from_=FROM, body="Fire")
    sent = await sms_client.messages.create_async(to=TO, from_=FROM, body="Fire")

    assert (caught.value.status, caught.value.code) == (status, client_code)
    assert sent.status == "queued"


async def test_a_wrong_auth_token_is_refused_with_code_20003(tw: FakeTwilio) -> None:
    http_client = aimed_http_client(tw.base_url)
    client = Client(tw.account_sid, "not-the-token", http_client=http_client)

    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(to=TO, from_=FROM, body="Fire")
    await http_client.close()

    assert (caught.value.status, caught.value.code) == (401, 20003)
    assert tw.messages == [] and tw.requests[-1].status == 401


async def test_a_slow_twilio_times_out_in_the_client_yet_the_message_was_accepted() -> None:
    async with FakeTwilio() as tw:
        tw.delay(30)
        http_client = aimed_http_client(tw.base_url, timeout=0.2)
        client = Client(tw.account_sid, tw.auth_token, http_client=http_client)
        with pytest.raises(TimeoutError):
            await client.messages.create_async(to=TO, from_=FROM, body="slow")
        await http_client.close()
        stopping = time.monotonic()

    assert time.monotonic() - stopping < 1.0
    assert [sms.body for sms in tw.messages] == ["slow"]


def test_the_committed_extract_matches_twilios_openapi_description() -> None:
    if not extract.DEFAULT_SOURCE.exists():
        pytest.skip("Twilio's full OpenAPI description is not beside this clone")
    document = json.loads(extract.DEFAULT_SOURCE.read_text(encoding="utf-8"))

    assert extract.render(extract.extract(document)) == extract.TARGET.read_text(encoding="utf-8")
