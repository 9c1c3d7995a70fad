"""The migrations build exactly the schema the models describe, and run twice safely."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from storage.db import make_engine, upgrade


def test_migrations_match_the_models_and_can_run_again(database_url: str) -> None:
    upgrade(database_url)  # a second run on an up-to-date database changes nothing

    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()

    assert differences == []
