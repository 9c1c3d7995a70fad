"""Real databases for tests: a fresh SQLite file each, and PostgreSQL when configured."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import SQLModel

import storage.audit  # registers the tables on SQLModel.metadata
import storage.directory
import storage.meetings  # the monthly meeting's tables
import storage.models  # noqa: F401
from storage.db import make_engine, upgrade

POSTGRES_ENV = "TEST_DATABASE_URL"


def postgres_url() -> str | None:
    """The PostgreSQL URL to test on, as SQLAlchemy wants it, or None when not configured."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class SqliteTemplate:
    """Migrates one SQLite file per test session and copies it for each test."""

    def __init__(self, folder: Path) -> None:
        self.template = folder / "template.db"
        upgrade(f"sqlite:///{self.template}")

    def fresh(self, folder: Path) -> str:
        target = folder / "vigil.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"


def reset_postgres(url: str) -> None:
    """Empty the test database entirely and migrate from nothing, once per test session.

    The whole schema goes, so functions and triggers that migrations add go with it.
    """
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)


def truncate(engine: Engine) -> None:
    """Empty every table between PostgreSQL tests."""
    names = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
