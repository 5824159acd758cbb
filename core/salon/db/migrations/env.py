"""Alembic environment: runs migrations on the async engine Salon itself uses."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from salon.db.migrate import MIGRATION_LOCK, include_object, run_with_connection
from salon.db.models import metadata
from salon.db.schema import record_compat
from sqlalchemy import text
from sqlalchemy.engine import Connection

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Held to the end of the transaction; the version table is read after it.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()
        record_compat(connection, context.script)


def run_migrations_online() -> None:
    url: Any = config.get_main_option("sqlalchemy.url")
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(run_with_connection(url, _run))


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
