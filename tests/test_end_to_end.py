"""The whole product as an administrator runs it: `python -m bot run` in its own process,
long-polling the fake Bot API and paging through the fake Twilio, killed and started again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.cli import main as vigil_cli
from tests.fakes import updates
from tests.fakes.telegram import Call, FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.support import people
from tests.support.harness import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, TOKEN

ROOT = Path(__file__).resolve().parents[1]
POLICY = """\
[levels.critical]
steps = [{ after = "2s", notify = "on_duty" }, { after = "4s", notify = "supervisors" }]
[levels.high]
steps = [{ after = "1m", notify = "on_duty" }]
[levels.normal]
steps = [{ after = "1m", notify = "on_duty" }]
"""
ROSTER = """name,role,organisation,phone,telegram
Jane Doe,consulate,Consulate of Norway,,101
Ali Raza,officer,Police,+923001110001,201
Omar Farooq,supervisor,Police,+923001110003,301
"""


def _environment(tmp_path: Path, tg: FakeTelegram, tw: FakeTwilio) -> dict[str, str]:
    (tmp_path / "policy.toml").write_text(POLICY)
    return {
        "PATH": os.environ.get("PATH", ""),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_GROUP_CHAT_ID": str(people.GROUP_ID),
        "TELEGRAM_API_BASE_URL": tg.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path}/vigil.db",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": tw.base_url,
        "VIGIL_ESCALATION_POLICY": str(tmp_path / "policy.toml"),
    }


@asynccontextmanager
async def running_bot(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    with log.open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdout=output, stderr=output
        )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


def _group_text(tg: FakeTelegram, needle: str) -> list[str]:
    return [m.text for m in tg.messages(people.GROUP_ID) if needle in m.text]


def _sent(needle: str):  # type: ignore[no-untyped-def]
    def matches(call: Call) -> bool:
        return call.method == "sendMessage" and needle in str(call.params.get("text", ""))

    return matches


async def test_alert_escalate_kill_restart_acknowledge(
    tmp_path: Path, tg: FakeTelegram, tw: FakeTwilio, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    env = _environment(tmp_path, tg, tw)
    (tmp_path / "roster.csv").write_text(ROSTER)
    monkeypatch.setenv("DATABASE_URL", env["DATABASE_URL"])
    assert vigil_cli(["roster", "import", str(tmp_path / "roster.csv")]) == 0
    log = tmp_path / "vigil.log"

    async with running_bot(env, log) as bot:
        await tg.wait_for("getUpdates", timeout=20)
        await vigil_cli_onduty(tg)
        tg.push_update(
            updates.command(
                "/alert critical Suspicious vehicle at the main gate",
                from_user=people.CONSUL,
                chat=updates.group(people.GROUP_ID),
            )
        )
        await tg.wait_for(_sent("ALERT #1"), timeout=20)
        await tw.wait_for_messages(1, timeout=20)
        # The card edit comes after the step's line is recorded as posted; killing between
        # Telegram's answer and that record is the one window that can repeat a line.
        await tg.wait_for(_edited("escalated to the duty officers"), timeout=20)
        bot.send_signal(signal.SIGKILL)

    async with running_bot(env, log):
        await tw.wait_for_messages(2, timeout=20)
        await tg.wait_for(_sent("step 2"), timeout=20)
        (card,) = [m for m in tg.messages(people.GROUP_ID) if "ALERT #1" in m.text]
        tg.push_update(
            updates.callback_query("ack:1", from_user=people.OFFICER, message=card.to_dict())
        )
        await tg.wait_for(lambda c: c.method == "answerCallbackQuery", timeout=20)
        await asyncio.sleep(0)  # the edit follows in the same handler

    assert [sms.to for sms in tw.messages] == [people.PHONES[201], people.PHONES[301]]
    assert len(_group_text(tg, "ALERT #1")) == 1
    assert len(_group_text(tg, "step 1")) == 1 and len(_group_text(tg, "step 2")) == 1
    assert "Acknowledged by Ali Raza" in _group_text(tg, "ALERT #1")[0]
    output = log.read_text()
    assert TOKEN not in output and "Traceback" not in output


def _edited(needle: str):  # type: ignore[no-untyped-def]
    def matches(call: Call) -> bool:
        return call.method == "editMessageText" and needle in str(call.params.get("text", ""))

    return matches


async def vigil_cli_onduty(tg: FakeTelegram) -> None:
    """Ali goes on duty from the group, as officers do at the start of a shift."""
    tg.push_update(
        updates.command("/onduty", from_user=people.OFFICER, chat=updates.group(people.GROUP_ID))
    )
    await tg.wait_for(_sent("now on duty"), timeout=20)


async def _run_until_it_stops(env: dict[str, str]) -> tuple[int | None, str]:
    """`python -m bot run` expected to give up at start: its exit status and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode, err.decode()


async def test_a_token_telegram_refuses_stops_the_bot_in_one_line_without_showing_it(
    tmp_path: Path, tw: FakeTwilio
) -> None:
    async with FakeTelegram(token="999:another-bots-token-abcdefghijklmnop") as strict:
        status, text = await _run_until_it_stops(_environment(tmp_path, strict, tw))

    assert status == 2
    assert text.splitlines()[-1] == (
        "vigil: Telegram refused TELEGRAM_BOT_TOKEN: copy it again from BotFather"
    )
    assert TOKEN not in text and "Traceback" not in text


async def test_an_unreachable_bot_api_stops_the_bot_in_one_line(
    tmp_path: Path, tg: FakeTelegram, tw: FakeTwilio
) -> None:
    env = _environment(tmp_path, tg, tw) | {"TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"}

    status, text = await _run_until_it_stops(env)

    assert status == 2
    assert text.splitlines()[-1].startswith("vigil: cannot reach the Telegram Bot API")
    assert "Traceback" not in text
