"""Migrations: upgrade from empty, downgrade to empty, upgrade again; the schema then matches
the models exactly (no pending autogenerate diff)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from salon.db import migrate
from salon.db.models import metadata
from salon.domain.auth.lookalikes import email_skeleton
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


async def test_0019_gives_existing_users_their_email_skeletons(salon_database: str) -> None:
    """The backfill runs in batches (here more than one) and skips users without an address."""
    migrate.upgrade(salon_database, "0018")
    users = sa.table(
        "users",
        sa.column("id", GUID(length=16)),
        sa.column("provider", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("email", sa.String()),
        sa.column("created_at", DateTimeUTC(timezone=True)),
        sa.column("updated_at", DateTimeUTC(timezone=True)),
    )
    now = dt.datetime.now(dt.UTC)
    emails = [f"user{n}@example.com" for n in range(1003)] + [None]  # batches of 1000
    rows = [
        {"id": uuid.uuid4(), "provider": "local", "subject": str(n), "email": email}
        | {"created_at": now, "updated_at": now}
        for n, email in enumerate(emails)
    ]
    engine = make_engine(salon_database)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(users), rows)
        migrate.upgrade(salon_database)
        async with engine.connect() as conn:
            stored = dict(
                (await conn.execute(sa.text("SELECT email, email_skeleton FROM users"))).all()
            )
    finally:
        await engine.dispose()
    assert stored == {email: email_skeleton(email) if email else None for email in emails}


async def test_0021_recomputes_the_email_skeletons(salon_database: str) -> None:
    """Keys stored before the key was case-folded (b0b@ had its own) are replaced."""
    migrate.upgrade(salon_database, "0020")
    engine = make_engine(salon_database)
    now = dt.datetime.now(dt.UTC)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO users (id, provider, subject, email, email_skeleton, created_at,"
                    " updated_at) VALUES (:id, 'local', 's', 'b0b@example.com', 'old', :now, :now)"
                ),
                {"id": GUID(length=16).process_bind_param(uuid.uuid4(), conn.dialect), "now": now},
            )
        migrate.upgrade(salon_database)
        async with engine.connect() as conn:
            stored = await conn.scalar(sa.text("SELECT email_skeleton FROM users"))
    finally:
        await engine.dispose()
    assert stored == email_skeleton("b0b@example.com") == email_skeleton("bob@example.com")
