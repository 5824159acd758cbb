"""The aiosqlite adapter with one thread trip per statement (salon.db.sqlite_driver): results,
row counts, errors and rollbacks are sqlite3's as before; only the trips change."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from salon.db.engine import make_engine
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError


async def test_statements_rows_counts_errors_and_rollbacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE)"))
            made = await connection.execute(text("INSERT INTO t (v) VALUES ('a'), ('b')"))
            assert made.rowcount == 2
        trips: list[Any] = []
        real = aiosqlite.Connection._execute

        async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
            trips.append(fn)
            return await real(self, fn, *args, **kw)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with engine.connect() as connection:
            rows = (await connection.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
        assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")]
        assert len(trips) == 1  # the SELECT; no rollback trip for a connection that only read

        # A write not committed is still rolled back when the connection goes back.
        async with engine.connect() as connection:
            await connection.execute(text("UPDATE t SET v = 'z' WHERE id = 1"))
        async with engine.connect() as connection:
            assert (await connection.scalar(text("SELECT v FROM t WHERE id = 1"))) == "a"

        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t (v) VALUES ('a')"))
        async with engine.connect() as connection:
            assert (await connection.scalar(text("SELECT count(*) FROM t"))) == 2
    finally:
        await engine.dispose()


async def test_a_burst_of_requests_keeps_its_connections(tmp_path: Path) -> None:
    """Connections opened for a burst stay pooled for the next one: SQLAlchemy's default of
    5 opened and closed the rest per checkout (a thread, four PRAGMAs, the schema parsed again
    each time), a quarter of the reads' throughput under load (issue 21)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    opened: list[object] = []
    event.listen(
        engine.sync_engine, "connect", lambda connection, _record: opened.append(connection)
    )

    async def request() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            await asyncio.sleep(0.05)  # all of the burst hold a connection at once

    try:
        await asyncio.gather(*(request() for _ in range(24)))
        assert len(opened) == 24
        await asyncio.gather(*(request() for _ in range(24)))
        assert len(opened) == 24, "the second burst opened connections again"
    finally:
        await engine.dispose()
