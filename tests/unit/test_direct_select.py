"""salon.db.direct on a SQLite file: the statement runs on the calling thread, on a read-only
connection of its own (no pooled connection, no trip to aiosqlite's thread), returns what a
session returns, never waits on a lock, and opens a new connection after an error."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import aiosqlite
import pytest
import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC
from salon.db.direct import DirectSelect, LoopReader, uuid_text
from salon.db.engine import make_engine

_META = sa.MetaData()
THINGS = sa.Table(
    "things",
    _META,
    sa.Column("id", GUID, primary_key=True),
    sa.Column("at", DateTimeUTC, nullable=False),
    sa.Column("name", sa.String, nullable=True),
)
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_uuid_text_is_str_of_the_uuid() -> None:
    for _ in range(200):
        value = uuid.uuid4()
        assert uuid_text(value.bytes) == uuid_text(value.hex) == uuid_text(value) == str(value)
    assert uuid_text(None) is None


async def test_rows_on_the_calling_thread_equal_a_sessions_and_never_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_META.create_all)
            await connection.execute(
                THINGS.insert(),
                [
                    {"id": uuid.uuid4(), "at": T0 + dt.timedelta(minutes=n), "name": f"n{n}"}
                    for n in range(5)
                ],
            )
        query = (
            sa.select(THINGS.c.id, THINGS.c.at, THINGS.c.name)
            .where(THINGS.c.at < sa.bindparam("before", type_=DateTimeUTC()))
            .order_by(THINGS.c.at.desc())
        )
        before = {"before": T0 + dt.timedelta(minutes=3)}
        async with engine.connect() as connection:
            expected = [tuple(row) for row in (await connection.execute(query, before)).all()]
        await engine.dispose()  # no pooled connection left: the direct read must open none

        trips: list[object] = []
        real = aiosqlite.Connection._execute

        async def counted(self: aiosqlite.Connection, fn: object, *a: object) -> object:
            trips.append(fn)
            return await real(self, fn, *a)  # type: ignore[arg-type]

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        direct = DirectSelect(engine, query, {"id": uuid_text})
        rows = await direct.rows(before)
        assert [(uuid.UUID(r.id), r.at, r.name) for r in rows] == expected
        assert rows[0].at.tzinfo is not None and len(rows) == 3
        assert trips == [] and engine.pool.checkedin() == 0  # type: ignore[attr-defined]

        # Another process holds the database exclusively (it can once no connection is
        # open): the read raises at once, and reads again with a new connection after.
        direct._reader.drop()  # type: ignore[union-attr]
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("PRAGMA locking_mode=EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("UPDATE things SET name = 'locked'")
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await direct.rows(before)
        assert time.monotonic() - started < 1.0
        other.execute("COMMIT")
        other.close()
        again = await direct.rows(before)  # a new connection of its own
        assert [r.name for r in again] == ["locked"] * 3
    finally:
        await engine.dispose()


def test_a_reader_per_thread_and_none_for_memory_or_uri(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    sqlite3.connect(path).close()
    reader = LoopReader(str(path))
    mine = reader.connection()
    assert reader.connection() is mine
    theirs: list[sqlite3.Connection] = []
    thread = threading.Thread(target=lambda: theirs.append(reader.connection()))
    thread.start()
    thread.join()
    assert theirs and theirs[0] is not mine
    with pytest.raises(sqlite3.OperationalError):  # read-only
        mine.execute("CREATE TABLE x (a)")
    reader.drop()
    assert reader.connection() is not mine
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        assert LoopReader.for_engine(make_engine(url)) is None
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    shared = LoopReader.for_engine(engine)
    assert shared is not None and LoopReader.for_engine(engine) is shared  # one per engine


async def test_concurrent_pooled_reads_stay_within_the_pool(tmp_path: Path) -> None:
    """More reads at once than the pool holds wait for a connection instead of opening
    overflow connections (which the pool would close again at check-in)."""
    engine = make_engine(f"sqlite+aiosqlite:///file:{tmp_path / 'd.db'}?uri=true")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_META.create_all)
            await connection.execute(THINGS.insert(), [{"id": uuid.uuid4(), "at": T0}])
        await engine.dispose()
        opened: list[object] = []
        sa.event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
        direct = DirectSelect(engine, sa.select(THINGS.c.name))
        assert direct._reader is None  # a URI: read through the pool
        results = await asyncio.gather(*(direct.rows({}) for _ in range(40)))
        assert all(len(rows) == 1 for rows in results)
        size = engine.pool.size()  # type: ignore[attr-defined]
        assert 1 <= len(opened) <= size < 40
    finally:
        await engine.dispose()
