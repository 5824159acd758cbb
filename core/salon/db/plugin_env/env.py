"""Alembic environment for a plugin's own migrations (hook ``register_migrations``).

The plugin ships only its revision files; this environment runs them on the engine Salon
uses, with the plugin's own version table (``alembic_version_<branch>``), under the same
PostgreSQL advisory lock as the core's migrations.
"""

from __future__ import annotations

import asyncio

from alembic import context
from salon.db.migrate import MIGRATION_LOCK, run_with_connection
from sqlalchemy import text
from sqlalchemy.engine import Connection

config = context.config
VERSION_TABLE = config.get_main_option("salon_version_table") or "alembic_version_plugin"


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


url = config.get_main_option("sqlalchemy.url") or ""
asyncio.run(run_with_connection(url, _run))
