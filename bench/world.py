"""What every figure needs: fake servers, fresh databases, seeded rows, the real bot."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Coroutine, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text, update
from sqlmodel import Session, col, select

from bot.app import VigilApp, build_application, vigil_of
from bot.clock import SystemClock
from config.settings import DEFAULT_POLICY_PATH, Settings, TwilioSettings
from storage.alerts import AlertStore
from storage.db import make_engine, upgrade
from storage.models import Alert, Member
from storage.roster import MemberRecord, RosterStore
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.support import people

TOKEN = "123456789:AAH-bench-token-0123456789abcdefghij"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "twilio-secret-token-for-bench"
FROM_NUMBER = "+15005550006"
GROUP_ID = people.GROUP_ID
SMS_ID = re.compile(r"VIGIL #(\d+)")


class Servers:
    """The fake Bot API and Twilio on 127.0.0.1, served from their own thread and loop.

    A separate loop keeps the fakes' own work off the bot's event loop, so a figure measures
    the bot rather than the server answering it.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.tg = FakeTelegram()
        self.tw = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN)

    def start(self) -> None:
        self.thread.start()
        self.run(self.tg.start())
        self.run(self.tw.start())

    def stop(self) -> None:
        self.run(self.tg.stop())
        self.run(self.tw.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def reset(self) -> None:
        self.run(_reset(self.tg, self.tw))


async def _reset(tg: FakeTelegram, tw: FakeTwilio) -> None:
    tg.reset()
    tw.reset()


def settings(
    database_url: str,
    servers: Servers,
    *,
    policy: Path = DEFAULT_POLICY_PATH,
    rate_limit: bool = False,
) -> Settings:
    twilio = TwilioSettings(ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, servers.tw.base_url)
    return Settings(
        telegram_token=TOKEN,
        group_chat_id=GROUP_ID,
        database_url=database_url,
        telegram_api_base_url=servers.tg.base_url,
        twilio=twilio,
        timezone=ZoneInfo("Asia/Karachi"),
        policy_path=policy,
        telegram_rate_limit=rate_limit,
    )


def fresh_database(folder: Path, name: str, postgres: str | None = None) -> str:
    """A migrated, empty database: a new SQLite file, or the PostgreSQL one emptied."""
    if postgres is not None:
        engine = make_engine(postgres)
        with engine.begin() as connection:  # tables, and the functions migrations create
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        upgrade(postgres)
        return postgres
    url = f"sqlite:///{folder / name}.db"
    upgrade(url)
    return url


def reachable(url: str) -> bool:
    """Whether a database URL can be connected to (checked before a long run, not after)."""
    try:
        engine = create_engine(postgres_url(url))
        with engine.connect():
            pass
        engine.dispose()
    except Exception:
        return False
    return True


def postgres_url(url: str) -> str:
    """SQLAlchemy's form of a postgresql:// URL, with the psycopg driver."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def seed_people(engine: Engine, officers: int = 0) -> Member:
    """The usual roster (Ali on duty), plus `officers` more on duty; returns the consul."""
    now = datetime.now(UTC)
    roster = RosterStore(engine)
    people.seed(roster, now)
    for n in range(officers):
        phone = f"+92300200{n:04d}"
        roster.upsert(MemberRecord(f"Officer {n}", "officer", "Police", phone, None, None), now)
    for member in roster.members():
        if member.name.startswith("Officer ") and member.id is not None:
            roster.set_on_duty(member.id, True, now)
    consul = roster.identify(people.CONSUL["id"], None, now)
    assert consul is not None
    return consul


def seed_alerts(engine: Engine, reporter: Member, dues: Iterable[datetime]) -> list[int]:
    """One waiting alert per due time, raised through the store as the bot raises them."""
    store = AlertStore(engine)
    ids = []
    for due in dues:
        alert, _ = store.raise_alert(
            reporter=reporter,
            level="normal",
            text="Unattended bag at the visa section",
            now=datetime.now(UTC),
            first_step_due_at=due,
            source_chat_id=GROUP_ID,
            source_message_id=_next_message_id(),
        )
        ids.append(alert.id or 0)
    return ids


_message_counter = iter(range(10_000_000, 20_000_000))


def _next_message_id() -> int:
    return next(_message_counter)


def give_cards(engine: Engine, servers: Servers, alert_ids: list[int]) -> None:
    """Give seeded alerts the cards a running bot would have posted, in the fake and the rows."""
    message_ids = servers.run(_post_cards(servers.tg, alert_ids))
    rows = [
        {"id": a, "card_chat_id": GROUP_ID, "card_message_id": m, "card_revision": 1}
        for a, m in zip(alert_ids, message_ids, strict=True)
    ]
    with Session(engine) as session:
        session.execute(update(Alert), rows)
        session.commit()


async def _post_cards(tg: FakeTelegram, alert_ids: list[int]) -> list[int]:
    sent = [
        tg.api.call("sendMessage", {"chat_id": GROUP_ID, "text": f"card {a}"}) for a in alert_ids
    ]
    return [message["message_id"] for message in sent]


def waiting_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Alert.id).where(col(Alert.state) == "waiting")).all())


def build(url: str, engine: Engine, servers: Servers, **options: Any) -> VigilApp:
    return build_application(settings(url, servers, **options), engine=engine, clock=SystemClock())


async def start(application: VigilApp) -> None:
    """Start as `vigil run` does, without polling: timers from rows, then the job queue."""
    await application.initialize()
    await vigil_of(application).start(application.job_queue)
    await application.start()


async def stop(application: VigilApp) -> None:
    await application.stop()
    await vigil_of(application).stop()
    await application.shutdown()


def engine_for(url: str) -> Engine:
    return make_engine(url)


def mono(at: datetime) -> float:
    """A wall-clock instant on the monotonic clock the fakes stamp requests with."""
    return at.timestamp() + (time.monotonic() - time.time())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]
