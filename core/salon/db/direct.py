"""A SELECT run straight on a pooled connection's driver (issue 19.2).

An uncached listing page went through an ``AsyncSession`` (or at least a ``Connection``):
statement compilation lookups, an execution context, a cursor adapter and SQLAlchemy's
result object around a few dozen rows. Here a Core SELECT is compiled once for the engine's
dialect; each run checks a connection out of the engine's pool, converts the parameters with
the statement's own bind processors, runs the SQL on the driver in one trip (one hand-off to
aiosqlite's thread; one asyncpg ``fetch``) and converts each value with the column's own
result processor. The values are those SQLAlchemy would have produced from the same SQL.

Only for reads: no transaction is begun (a single statement reads one consistent snapshot),
and the connection goes back to the pool as SQLAlchemy's own checkouts do.

On a SQLite file the statement runs on the calling thread (the event loop's), on a read-only
connection of that thread's own (:class:`LoopReader`), not on a pooled aiosqlite connection:
a page is an index range scan of at most a few hundred rows (about 0.1 ms), cheaper than the
hand-off to aiosqlite's thread and back it replaces, which under 64 concurrent requests cost
more CPU than the page itself (waking the thread, the GIL passed to it and back, waking the
loop). It never waits on a lock (``busy_timeout`` 0): a busy database raises, and the caller
answers through the router instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import uuid
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from salon.db.sqlite_driver import run_statement

__all__ = ["DirectSelect", "LoopReader", "uuid_text"]

_Processor = Callable[[Any], Any] | None


class DirectSelect:
    """``statement`` compiled for ``engine``; :meth:`rows` runs it with bound values."""

    def __init__(
        self,
        engine: AsyncEngine,
        statement: Select[Any],
        converters: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        """``converters``: instead of the column type's result processor, by column key (a
        value the caller wants in another form, e.g. :func:`uuid_text`)."""
        dialect: Dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self._engine = engine
        self._compiled = compiled
        self._sql = str(compiled)
        binds: Mapping[str, Any] = compiled._bind_processors
        self._positions: list[tuple[str, _Processor]] = [
            (name, binds.get(name)) for name in compiled.positiontup or ()
        ]
        columns = list(statement.selected_columns)
        converters = converters or {}
        processors = [
            converters.get(str(column.key)) or column.type._cached_result_processor(dialect, None)
            for column in columns
        ]
        self.keys = tuple(str(column.key) for column in columns)
        self._processors = dict(zip(self.keys, processors, strict=True))
        # Only the columns that have a conversion are touched per row.
        self._results = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
        row_type: Any = namedtuple("_Row", self.keys)  # type: ignore[misc]
        self._make: Callable[[list[Any]], Any] = row_type._make
        self.dialect = dialect.name
        self._asyncpg = dialect.driver == "asyncpg"
        self._aiosqlite = dialect.driver == "aiosqlite"
        self._reader = LoopReader.for_engine(engine) if self._aiosqlite else None

    @property
    def supported(self) -> bool:
        """Whether the engine's driver is one this runs on (else use a session)."""
        return self._asyncpg or self._aiosqlite

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        """The driver's positional parameters for ``values`` (and the statement's own)."""
        given = self._compiled.construct_params(dict(values))
        return [given[key] if proc is None else proc(given[key]) for key, proc in self._positions]

    def processor(self, key: str) -> _Processor:
        """What :meth:`convert` does to column ``key``'s values (None: nothing)."""
        return self._processors[key]

    async def rows(self, values: Mapping[str, Any]) -> list[Any]:
        """The statement's rows for ``values``, as named tuples of converted values."""
        return [self.convert(row) for row in await self.fetch(values)]

    def convert(self, row: Any) -> Any:
        """One of :meth:`fetch`'s rows as a named tuple of converted values."""
        cells = list(row)
        for i, proc in self._results:
            cells[i] = proc(cells[i])
        return self._make(cells)

    async def fetch(self, values: Mapping[str, Any]) -> Sequence[Any]:
        """The statement's rows for ``values`` as the driver gives them (sqlite3 tuples,
        asyncpg records; the columns in :attr:`keys`' order), not converted. A connection
        the driver reports lost is invalidated (the pool drops it); the error is raised for
        the caller to decide."""
        parameters = self.parameters(values)
        if self._reader is not None:
            return await self._read_here(self._reader, parameters)  # type: ignore[no-any-return]
        return await self._read_pooled(parameters)  # type: ignore[no-any-return]

    async def _read_here(self, reader: LoopReader, parameters: list[Any]) -> Any:
        try:
            return await self._fetch(reader.connection(), parameters)
        except BaseException:
            reader.drop()
            raise

    async def _read_pooled(self, parameters: list[Any]) -> Any:
        async with _checkouts(self._engine):
            fairy = await self._engine.raw_connection()
            try:
                raw = await self._fetch(fairy.driver_connection, parameters)
            except BaseException:
                fairy.invalidate()
                raise
            finally:
                await greenlet_spawn(fairy.close)
        return raw

    async def _fetch(self, driver: Any, parameters: list[Any]) -> Any:
        if self._asyncpg:
            return await driver.fetch(self._sql, *parameters)
        if isinstance(driver, sqlite3.Connection):  # a LoopReader's
            return driver.execute(self._sql, parameters).fetchall()
        outcome = await driver._execute(run_statement, driver._conn, self._sql, parameters)
        return outcome[1] or ()


# Per engine: the event loop and the semaphore of its direct reads (_checkouts).
_GATES: weakref.WeakKeyDictionary[Engine, tuple[Any, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _checkouts(engine: AsyncEngine) -> AbstractAsyncContextManager[Any]:
    """At most the pool's size of direct reads at once: under more concurrent requests than
    that, the others wait here instead of opening overflow connections, which the pool closes
    again at check-in (a connect and a close per request cost more than the page: a third
    of the CPU under 64 connections on PostgreSQL). Pools without a size: no limit."""
    size = getattr(engine.pool, "size", None)
    if not callable(size):
        return contextlib.nullcontext()
    loop = asyncio.get_running_loop()
    held = _GATES.get(engine.sync_engine)
    if held is None or held[0] is not loop:
        held = _GATES[engine.sync_engine] = (loop, asyncio.Semaphore(max(1, size())))
    return held[1]


# One LoopReader per engine, shared by the statements reading through it.
_READERS: weakref.WeakKeyDictionary[Engine, LoopReader] = weakref.WeakKeyDictionary()


def uuid_text(value: Any) -> str | None:
    """A UUID column's value as the canonical text ``str(uuid.UUID(...))`` is: 16 bytes
    (SQLite's GUID) formatted directly, a fifth of the cost of a ``uuid.UUID`` and its
    ``str`` (a page has 50); text (a GUID stored as hex) through ``uuid.UUID``; anything
    else (asyncpg's UUID, a ``uuid.UUID``) through ``str``."""
    if value.__class__ is bytes and len(value) == 16:
        h = value.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if value is None:
        return None
    return str(uuid.UUID(value) if isinstance(value, str) else value)


class LoopReader:
    """A read-only sqlite3 connection to one database file per thread and process, opened on
    first use on that thread and used only there (module docstring). ``busy_timeout`` is 0:
    a statement that would wait for a lock raises at once."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> LoopReader | None:
        """The engine's reader (one per engine: its statements share it); None for a memory
        database or a URI (the pool reads those)."""
        url = engine.url
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:") or url.query:
            return None
        reader = _READERS.get(engine.sync_engine)
        if reader is None:
            reader = _READERS[engine.sync_engine] = cls(database)
        return reader

    def connection(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]  # type: ignore[no-any-return]
        connection = sqlite3.connect(self._path, timeout=0, isolation_level=None)
        connection.execute("PRAGMA query_only=ON")
        self._local.held = (os.getpid(), connection)
        return connection

    def drop(self) -> None:
        """Close this thread's connection (after an error); the next use opens another."""
        held = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None and held[0] == os.getpid():
            held[1].close()
