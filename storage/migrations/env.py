"""Alembic's entry point: runs migrations on the URL Vigil gives it."""

from alembic import context
from sqlmodel import SQLModel

import storage.audit  # registers the tables on SQLModel.metadata
import storage.directory
import storage.meetings  # the monthly meeting's tables
import storage.models  # noqa: F401
from storage.db import make_engine

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url") or "")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
