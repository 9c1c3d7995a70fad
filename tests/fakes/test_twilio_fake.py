"""The fake Twilio checks requests, counts segments and is driven over HTTP as Twilio would be."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.twilio import FakeTwilio, segments

REPO_ROOT = Path(__file__).resolve().parents[2]
TO = "+15005550006"
FROM = "+15005550001"


def messages_path(tw: FakeTwilio) -> str:
    """The path the real client posts to."""
    return f"/2010-04-01/Accounts/{tw.account_sid}/Messages.json"


async def post_form(tw: FakeTwilio, form: dict[str, str]) -> tuple[int, dict]:
    """Post a raw form with the right credentials; return the status and the JSON answer."""
    auth = aiohttp.BasicAuth(tw.account_sid, tw.auth_token)
    async with (
        aiohttp.ClientSession(tw.base_url, auth=auth) as http,
        http.post(messages_path(tw), data=form) as answer,
    ):
        return answer.status, await answer.json()


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"From": FROM, "Body": "x"}, 21604),
        ({"To": TO, "From": FROM}, 21602),
        ({"To": TO, "Body": "x"}, 21603),
        ({"To": "5550006", "From": FROM, "Body": "x"}, 21211),
        ({"To": TO, "From": FROM, "Body": "x" * 1601}, 21617),
    ],
)
async def test_an_incomplete_or_invalid_form_gets_twilios_coded_400(
    tw: FakeTwilio, form: dict[str, str], code: int
) -> None:
    status, answer = await post_form(tw, form)

    assert (status, answer["code"], answer["status"]) == (400, code, 400)
    assert answer["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert tw.messages == [] and tw.requests[-1].status == 400


@pytest.mark.parametrize(
    ("body", "count"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("{" * 80, 1),
        ("{" * 81, 2),
        ("Ж" * 70, 1),
        ("Ж" * 71, 2),
        ("🚨" * 35, 1),
        ("é ü à", 1),
    ],
)
def test_segments_are_counted_like_twilio_bills_them(body: str, count: int) -> None:
    assert segments(body) == count


async def test_wait_for_messages_returns_once_enough_have_arrived(tw: FakeTwilio) -> None:
    waiter = asyncio.create_task(tw.wait_for_messages(2))

    await post_form(tw, {"To": TO, "From": FROM, "Body": "one"})
    await post_form(tw, {"To": "+15005550007", "From": FROM, "Body": "two"})

    assert [(sms.to, sms.body) for sms in await waiter] == [(TO, "one"), ("+15005550007", "two")]


async def test_wait_for_messages_says_how_many_came_when_it_gives_up(tw: FakeTwilio) -> None:
    with pytest.raises(TimeoutError, match="0 of 1 messages"):
        await tw.wait_for_messages(1, timeout=0.01)


async def test_the_control_endpoints_drive_the_fake_over_http(tw: FakeTwilio) -> None:
    async with aiohttp.ClientSession(tw.base_url) as http:
        await http.post("/_control/fail_number", json={"e164": TO, "code": 21610})
        refused, _ = await post_form(tw, {"To": TO, "From": FROM, "Body": "x"})
        await http.post("/_control/fail_next", json={"status": 503})
        outage, _ = await post_form(tw, {"To": "+15005550007", "From": FROM, "Body": "x"})
        await post_form(tw, {"To": "+15005550007", "From": FROM, "Body": "ok"})
        listed = await (await http.get("/_control/messages")).json()
        requests = await (await http.get("/_control/requests")).json()
        wrong = await http.post("/_control/delay", json={"minutes": 1})
        await http.post("/_control/reset")

    assert (refused, outage, wrong.status) == (400, 503, 400)
    assert [(sms["to"], sms["from"], sms["body"]) for sms in listed["result"]] == [
        ("+15005550007", FROM, "ok")
    ]
    assert [request["status"] for request in requests["result"]] == [400, 503, 201]
    assert tw.messages == [] and tw.requests == []


async def test_the_fake_runs_on_its_own_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.twilio",
        "--port",
        "0",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        base_url = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        async with aiohttp.ClientSession(base_url) as http:
            listed = await (await http.get("/_control/messages")).json()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert base_url.startswith("http://127.0.0.1:")
    assert listed == {"ok": True, "result": []}
