"""Migrations: upgrade from empty, downgrade to empty, upgrade again; the schema then matches
the models exactly (no pending autogenerate diff)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from salon.db import migrate
from salon.db.models import metadata
from salon.runtime import make_engine
from sqlalchemy import inspect

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


async def _tables_and_diff(url: str) -> tuple[set[str], list[object]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"include_object": migrate.include_object}),
                    metadata,
                )
            )
            if conn.dialect.name == "sqlite":
                # SQLite reflects custom types (GUID, JSON) as their storage affinity only.
                diff = [d for d in diff if not (isinstance(d, list) and d[0][0] == "modify_type")]
    finally:
        await engine.dispose()
    return tables, diff


async def test_upgrade_downgrade_upgrade(salon_database: str) -> None:
    migrate.upgrade(salon_database)
    tables, diff = await _tables_and_diff(salon_database)
    assert set(metadata.tables) <= tables
    assert diff == []
    migrate.downgrade(salon_database, "base")
    tables, _ = await _tables_and_diff(salon_database)
    assert not set(metadata.tables) & tables
    migrate.upgrade(salon_database)
    migrate.upgrade(salon_database)  # idempotent
    tables, diff = await _tables_and_diff(salon_database)
    assert set(metadata.tables) <= tables and diff == []
