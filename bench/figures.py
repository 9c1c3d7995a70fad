"""Each figure of the benchmark: set up, drive the real bot, measure, tear down."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from bench import world
from bench.world import GROUP_ID, SMS_ID, Servers
from bot.app import VigilApp
from tests.fakes import updates
from tests.support import people


@dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    goal: str
    floor: str = ""
    met: bool | None = None


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# -- 1. bot-added latency --------------------------------------------------------------------


def floor_application(servers: Servers) -> VigilApp:
    """The least a PTB bot can do: answer /alert with one message and one inline button."""
    base = servers.tg.base_url
    application = ApplicationBuilder().token(world.TOKEN).base_url(base).build()
    application.add_handler(CommandHandler("alert", _floor_alert))
    return application


async def _floor_alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer with a card-sized message and an Acknowledge button."""
    assert update.effective_message is not None
    button = InlineKeyboardButton("Acknowledge", callback_data="ack:0")
    await context.bot.send_message(
        update.effective_message.chat_id,
        "ALERT",
        reply_markup=InlineKeyboardMarkup([[button]]),
        reply_parameters=ReplyParameters(
            update.effective_message.message_id, allow_sending_without_reply=True
        ),
    )


class AlertFeeder:
    """Hands /alert updates to an application and times each until its reply reaches the fake."""

    update_ids = iter(range(1, 10_000_000))

    def __init__(self, application: VigilApp, servers: Servers) -> None:
        self.app = application
        self.servers = servers

    async def one(self, started: dict[int, float]) -> None:
        update = updates.command(
            "/alert high Suspicious vehicle at the main gate",
            from_user=people.CONSUL,
            chat=updates.group(GROUP_ID),
            message_id=world._next_message_id(),
        )
        update["update_id"] = next(self.update_ids)
        started[update["message"]["message_id"]] = time.monotonic()
        await self.app.process_update(Update.de_json(update, self.app.bot))

    async def run(self, count: int, at_once: bool) -> list[float]:
        started: dict[int, float] = {}
        if at_once:
            await asyncio.gather(*(self.one(started) for _ in range(count)))
        else:
            for _ in range(count):
                await self.one(started)
        return self.latencies(started)

    def latencies(self, started: dict[int, float]) -> list[float]:
        replied: dict[int, float] = {}
        for call in list(self.servers.tg.calls):
            target = (call.params.get("reply_parameters") or {}).get("message_id")
            if call.method == "sendMessage" and target in started and target not in replied:
                replied[target] = call.at
        return [replied[m] - t for m, t in started.items() if m in replied]


async def latency(servers: Servers, url: str, counts: tuple[int, int], label: str) -> list[Row]:
    """Figure 1: /alert handed over -> card request at the fake, against the PTB floor."""
    servers.reset()
    engine = world.engine_for(url)
    world.seed_people(engine)
    vigil = world.build(url, engine, servers)
    floor = floor_application(servers)
    await world.start(vigil)
    await floor.initialize()
    await floor.start()
    rows = []
    try:
        for at_once, count in ((False, counts[0]), (True, counts[1])):
            await AlertFeeder(floor, servers).run(20, at_once=False)  # warm both paths
            await AlertFeeder(vigil, servers).run(20, at_once=False)
            base = await AlertFeeder(floor, servers).run(count, at_once)
            ours = await AlertFeeder(vigil, servers).run(count, at_once)
            rows.append(_latency_row(label, count, at_once, ours, base))
    finally:
        await floor.stop()
        await floor.shutdown()
        await world.stop(vigil)
        engine.dispose()
    return rows


def _latency_row(
    label: str, count: int, at_once: bool, ours: list[float], base: list[float]
) -> Row:
    p50, p99 = world.percentile(ours, 50), world.percentile(ours, 99)
    f50, f99 = world.percentile(base, 50), world.percentile(base, 99)
    limit = 1.5 * f99 + 0.005
    how = f"{count} at once" if at_once else f"{count} in a row"
    missing = f", {count - len(ours)} cards missing" if len(ours) < count else ""
    return Row(
        f"1. /alert -> card, {how} [{label}]",
        f"p50 {ms(p50)}, p99 {ms(p99)}{missing}",
        f"p99 <= 1.5 x floor + 5 ms = {ms(limit)}",
        f"p50 {ms(f50)}, p99 {ms(f99)}",
        p99 <= limit and not missing,
    )


# -- 2. escalation lateness, 4. restart, 5. memory -------------------------------------------


async def _seed_spread(
    engine: Any, servers: Servers, count: int, spread: float
) -> dict[int, datetime]:
    """Seed `count` alerts due evenly over `spread` seconds, starting once seeding is done."""
    reporter = world.seed_people(engine)
    began = time.monotonic()
    probe = [datetime.now(UTC) + timedelta(hours=2)] * 50
    world.give_cards(
        engine, servers, await asyncio.to_thread(world.seed_alerts, engine, reporter, probe)
    )
    per_alert = (time.monotonic() - began) / len(probe)
    first = datetime.now(UTC) + timedelta(seconds=per_alert * count * 1.3 + 8)
    dues = [first + timedelta(seconds=spread * i / count) for i in range(count)]
    ids = await asyncio.to_thread(world.seed_alerts, engine, reporter, dues)
    world.give_cards(engine, servers, ids)
    return dict(zip(ids, dues, strict=True))


class BotProcess:
    """The bot in a child process, read line by line, killed if it outlives its cap."""

    def __init__(self, servers: Servers, url: str, cap: float) -> None:
        self.args = (url, servers.tg.base_url, servers.tw.base_url, str(cap))
        self.cap = cap
        self.fields: dict[str, float] = {}
        self.process: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BotProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bot_process",
            *self.args,
            stdout=asyncio.subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            for pair in line.decode().split():
                key, _, value = pair.partition("=")
                self.fields[key] = float(value)

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        if self.reader is not None:
            await asyncio.wait_for(self.reader, 5)


async def lateness(
    servers: Servers, url: str, count: int, spread: float, label: str, cap: float
) -> list[Row]:
    """Figure 2: steps due across a minute, real clock and timers; due -> SMS at the fake."""
    servers.reset()
    engine = world.engine_for(url)
    due_of = await _seed_spread(engine, servers, count, spread)
    engine.dispose()
    last_due = world.mono(max(due_of.values()))
    deadline = last_due + cap  # the cap counts from the last due time, not the bot's start
    async with BotProcess(servers, url, deadline - time.monotonic() + 5) as bot:
        while len(servers.tw.messages) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        started = bot.fields.get("started", float("inf")) - world.mono(min(due_of.values()))
    late = [float("inf")] * count
    for n, alert_id in enumerate(due_of):
        sms = next((s for s in servers.tw.messages if _sms_alert(s) == alert_id), None)
        if sms is not None:
            late[n] = sms.received_at - world.mono(due_of[alert_id])
    p50, p99 = world.percentile(late, 50), world.percentile(late, 99)
    sent = sum(1 for value in late if value != float("inf"))
    began = "never" if started == float("inf") else f"{started:+.1f} s"
    return [
        Row(
            f"2. escalation lateness, {count} steps over {spread:.0f} s [{label}]",
            f"p50 {_secs(p50)}, p99 {_secs(p99)}; {sent}/{count} SMS sent before the"
            f" {cap:.0f} s cap; bot's job queue started {began} from the first due time",
            "p99 <= 1 s",
            met=p99 <= 1.0,
        )
    ]


def _secs(value: float) -> str:
    return "never (missing)" if value == float("inf") else ms(value)


async def restart(
    servers: Servers, url: str, label: str, cap: float, waiting: int, overdue: int = 100
) -> list[Row]:
    """Figures 4 and 5: `waiting` alerts due in an hour and `overdue` ones due 30 s ago,
    on a fresh database; start the bot, time the overdue SMS, read its memory."""
    servers.reset()
    engine = world.engine_for(url)
    reporter = world.seed_people(engine)
    later = [datetime.now(UTC) + timedelta(hours=1)] * waiting
    world.give_cards(
        engine, servers, await asyncio.to_thread(world.seed_alerts, engine, reporter, later)
    )
    dues = [datetime.now(UTC) - timedelta(seconds=30)] * overdue
    overdue_ids = await asyncio.to_thread(world.seed_alerts, engine, reporter, dues)
    world.give_cards(engine, servers, overdue_ids)
    ids = set(overdue_ids)
    waiting = await asyncio.to_thread(world.waiting_count, engine)
    engine.dispose()
    async with BotProcess(servers, url, cap) as bot:
        deadline = time.monotonic() + cap
        while (_count_sms(servers, ids) < overdue or "rss_kb" not in bot.fields) and (
            time.monotonic() < deadline
        ):
            await asyncio.sleep(0.05)
        fields = dict(bot.fields)
    began = fields.get("began", float("nan"))
    times = sorted(s.received_at - began for s in servers.tw.messages if _sms_alert(s) in ids)
    last = times[-1] if len(times) == overdue else float("inf")
    start = fields.get("started", float("inf")) - began
    return [
        _restart_row(label, waiting, overdue, times, last, start, cap),
        _memory_row(label, fields),
    ]


def _restart_row(
    label: str,
    waiting: int,
    overdue: int,
    times: list[float],
    last: float,
    start: float,
    cap: float,
) -> Row:
    if last == float("inf"):
        measured = f"{len(times)}/{overdue} overdue SMS within the {cap:.0f} s cap"
    else:
        measured = f"last overdue SMS {last:.2f} s, first {times[0]:.2f} s"
    started = "not finished" if start == float("inf") else f"{start:.2f} s"
    return Row(
        f"4. restart with {waiting} waiting, {overdue} overdue [{label}]",
        f"{measured} (build+initialize+start {started})",
        "<= 3 s",
        met=last <= 3.0,
    )


def _memory_row(label: str, fields: dict[str, float]) -> Row:
    if "rss_kb" not in fields:
        return Row(f"5. resident memory [{label}]", "start-up did not finish", "<= 150 MB")
    rss = fields["rss_kb"] / 1024
    return Row(
        f"5. resident memory, {fields['jobs']:.0f} timers [{label}]",
        f"VmRSS {rss:.0f} MB (peak {fields['hwm_kb'] / 1024:.0f} MB;"
        f" {fields['base_kb'] / 1024:.0f} MB after imports)",
        "<= 150 MB",
        met=rss <= 150,
    )


def _sms_alert(sms: Any) -> int | None:
    found = SMS_ID.search(sms.body)
    return int(found[1]) if found else None


def _count_sms(servers: Servers, ids: set[int]) -> int:
    return sum(1 for s in list(servers.tw.messages) if _sms_alert(s) in ids)


# -- 3. fan-out ------------------------------------------------------------------------------


async def fan_out(servers: Servers, url: str, recipients: int, label: str) -> list[Row]:
    """Figure 3: one step to many people on duty while Twilio takes 500 ms to answer."""
    servers.reset()
    servers.tw.delay(0.5)
    engine = world.engine_for(url)
    reporter = world.seed_people(engine, officers=recipients - 1)  # Ali is on duty too
    due = datetime.now(UTC) + timedelta(seconds=3)
    [alert_id] = await asyncio.to_thread(world.seed_alerts, engine, reporter, [due])
    world.give_cards(engine, servers, [alert_id])
    app = world.build(url, engine, servers)
    await world.start(app)
    try:
        deadline = time.monotonic() + 20
        while not _line_posted(servers, alert_id) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await world.stop(app)
        engine.dispose()
        servers.tw.delay(0)
    arrivals = [s.received_at for s in servers.tw.messages if _sms_alert(s) == alert_id]
    answered = (
        max(arrivals) + 0.5 - world.mono(due) if len(arrivals) == recipients else float("inf")
    )
    first = min(arrivals, default=float("nan")) - world.mono(due)
    line = _line_posted(servers, alert_id)
    line_at = f"{line - world.mono(due):.2f} s" if line else "never"
    return [
        Row(
            f"3. fan-out to {recipients}, Twilio answers in 500 ms [{label}]",
            f"last SMS answered {answered:.2f} s after due ({len(arrivals)} sent, first asked"
            f" {first:.2f} s; group line {line_at})",
            "<= 1.0 s",
            met=answered <= 1.0,
        )
    ]


def _line_posted(servers: Servers, alert_id: int) -> float | None:
    needle = f"Alert #{alert_id}</b>: step 1"
    for call in list(servers.tg.calls):
        if (
            call.method == "sendMessage"
            and call.status == 200
            and needle in call.params.get("text", "")
        ):
            return call.at
    return None


# -- 6. burst --------------------------------------------------------------------------------

BURST_POLICY = """\
[levels.critical]
steps = [{ after = "20s", notify = "on_duty" }, { after = "1h", notify = "supervisors" }]
[levels.high]
steps = [{ after = "20s", notify = "on_duty" }, { after = "1h", notify = "supervisors" }]
[levels.normal]
steps = [{ after = "20s", notify = "on_duty" }, { after = "1h", notify = "supervisors" }]
"""
SPAMMERS = (people.OFFICER_2, people.SUPERVISOR, people.ADMIN)


async def burst(
    servers: Servers, url: str, folder: Path, plan: tuple[int, float, float]
) -> list[Row]:
    """Figure 6: alerts and /status spam in one group under Telegram's 20-a-minute limit."""
    alerts, feed_seconds, cap = plan
    servers.reset()
    servers.tg.group_rate_limit(per_minute=20)
    (folder / "burst.toml").write_text(BURST_POLICY)
    engine = world.engine_for(url)
    world.seed_people(engine)
    app = world.build(url, engine, servers, policy=folder / "burst.toml", rate_limit=True)
    await world.start(app)
    began = time.monotonic()
    pushed: dict[int, float] = {}
    try:
        await _feed_burst(app, alerts, feed_seconds, pushed)
        while time.monotonic() - began < cap and not _burst_done(servers, pushed):
            await asyncio.sleep(0.5)
        rows = _burst_rows(servers, pushed, alerts, feed_seconds, time.monotonic() - began)
    finally:
        # Stopping waits for every queued send, minutes at 20 a minute: give it 10 s.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(world.stop(app), 10)
        engine.dispose()
        servers.tg.group_rate_limit(None)
    return rows


async def _feed_burst(app: Any, alerts: int, seconds: float, pushed: dict[int, float]) -> None:
    """Put alerts and /status into the update queue, as polling does, over `seconds`."""
    ticks = alerts * 2
    for tick in range(ticks):
        if tick % 2 == 0:
            mid = world._next_message_id()
            text = "/alert high Crowd gathering at the consulate gate"
            update = updates.command(
                text, from_user=people.CONSUL, chat=updates.group(GROUP_ID), message_id=mid
            )
            pushed[mid] = time.monotonic()
        else:
            spammer = SPAMMERS[tick % len(SPAMMERS)]
            update = updates.command("/status", from_user=spammer, chat=updates.group(GROUP_ID))
        update["update_id"] = next(AlertFeeder.update_ids)
        await app.update_queue.put(Update.de_json(update, app.bot))
        await asyncio.sleep(seconds / ticks)


def _cards(servers: Servers, pushed: dict[int, float]) -> dict[int, float]:
    done: dict[int, float] = {}
    for call in list(servers.tg.calls):
        target = (call.params.get("reply_parameters") or {}).get("message_id")
        if call.method == "sendMessage" and call.status == 200 and target in pushed:
            done.setdefault(target, call.at)
    return done


def _lines(servers: Servers) -> tuple[int, int]:
    steps = {_sms_alert(s) for s in list(servers.tw.messages)}
    posted = {
        int(text.split("Alert #")[1].split("<")[0])
        for call in list(servers.tg.calls)
        if call.method == "sendMessage"
        and call.status == 200
        and "</b>: step 1" in (text := str(call.params.get("text", "")))
    }
    return len(posted & steps), len(steps)


def _burst_done(servers: Servers, pushed: dict[int, float]) -> bool:
    posted, steps = _lines(servers)
    return len(_cards(servers, pushed)) == len(pushed) and posted == steps and steps == len(pushed)


def _unanswered_429s(servers: Servers) -> int:
    """429s whose text was never sent (or edit never made) successfully afterwards."""
    calls = list(servers.tg.calls)
    unanswered = 0
    for i, call in enumerate(calls):
        if call.status != 429:
            continue
        key = _content_key(call.method, call.params)
        if not any(c.status == 200 and _content_key(c.method, c.params) == key for c in calls[i:]):
            unanswered += 1
    return unanswered


def _content_key(method: str, params: dict[str, Any]) -> tuple[Any, ...]:
    return (method, params.get("message_id"), str(params.get("text", ""))[:60])


def _status_ahead(servers: Servers, pushed: dict[int, float], cards: dict[int, float]) -> int:
    """/status replies the group received while some card was still waiting to be posted."""
    ahead = 0
    for call in list(servers.tg.calls):
        text = str(call.params.get("text", ""))
        if (
            call.method != "sendMessage"
            or call.status != 200
            or "ALERT #" in text
            or "step 1" in text
        ):
            continue
        if any(t < call.at and cards.get(m, float("inf")) > call.at for m, t in pushed.items()):
            ahead += 1
    return ahead


def _burst_rows(
    servers: Servers, pushed: dict[int, float], alerts: int, feed: float, ran: float
) -> list[Row]:
    cards = _cards(servers, pushed)
    waits = sorted(cards[m] - t for m, t in pushed.items() if m in cards)
    first = min(pushed, key=lambda m: pushed[m])
    first_card = f"{cards[first] - pushed[first]:.2f} s" if first in cards else "never"
    posted, steps = _lines(servers)
    all_done = len(cards) == alerts and posted == steps == alerts
    return [
        Row(
            f"6. burst: {alerts} /alert + /status spam in {feed:.0f} s, 20/min group limit",
            f"first card {first_card}; cards {len(cards)}/{alerts}, lines {posted}/{steps} in"
            f" {ran:.0f} s; card wait p50 {world.percentile(waits, 50):.1f} s max"
            f" {max(waits, default=0):.1f} s; 429s {servers.tg.rate_limited}, unanswered"
            f" {_unanswered_429s(servers)}; /status replies sent ahead of waiting cards"
            f" {_status_ahead(servers, pushed, cards)}",
            "every card and line delivered; first card prompt",
            met=all_done,
        )
    ]
