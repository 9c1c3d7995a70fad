"""Fixtures: real databases, the fake Telegram and Twilio servers, and the real bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from storage.db import make_engine
from storage.roster import RosterStore
from tests.fakes.telegram import FakeTelegram
from tests.fakes.twilio import FakeTwilio
from tests.support import databases, people
from tests.support.clock import ManualClock
from tests.support.harness import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    Harness,
    MakeBot,
    build,
    make_settings,
)

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> databases.SqliteTemplate:
    return databases.SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgres() -> str | None:
    url = databases.postgres_url()
    if url is not None:
        databases.reset_postgres(url)
    return url


@pytest.fixture
def sqlite_url(sqlite_template: databases.SqliteTemplate, tmp_path: Path) -> str:
    return sqlite_template.fresh(tmp_path)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, sqlite_url: str, postgres: str | None) -> str:
    """Each storage test runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        return sqlite_url
    if postgres is None:
        pytest.skip("PostgreSQL tests run when TEST_DATABASE_URL is set")
    return postgres


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        databases.truncate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def tw() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN) as server:
        yield server


@pytest.fixture
def make_bot(
    sqlite_url: str, sqlite_engine: Engine, clock: ManualClock, tg: FakeTelegram, tw: FakeTwilio
) -> MakeBot:
    """Builds the real bot on one SQLite database with the usual roster, Ali on duty.

    Call it again to restart. `sms=False` leaves Twilio unconfigured; `policy` and `clock`
    replace the defaults; other keywords replace settings.
    """
    people.seed(RosterStore(sqlite_engine), clock.now())

    def make(
        *, sms: bool = True, policy: Path | None = None, clock: Any = clock, **overrides: Any
    ) -> Harness:
        twilio = tw if sms else None
        settings = make_settings(sqlite_url, tg, twilio)
        if policy is not None:
            overrides["policy_path"] = policy
        return build(settings, sqlite_engine, clock, tg, twilio, **overrides)

    return make


@pytest.fixture
async def vigil(make_bot: MakeBot) -> AsyncIterator[Harness]:
    """The real bot, started, with time under the test's control."""
    harness = make_bot()
    await harness.start()
    yield harness
    await harness.stop()
