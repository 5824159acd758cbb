"""A one-row UPDATE run straight on a pooled SQLite connection's driver, committed in the same
trip to aiosqlite's thread (issue 21).

Recording an image's renditions went through an ``AsyncSession``: a session, a transaction,
the statement's execution context and a commit, two hand-offs to aiosqlite's thread per image
on the event loop that also answers every request. Here the UPDATE is compiled once for the
engine's dialect, its parameters converted with the statement's own bind processors (as
SQLAlchemy would), and the statement and its commit run as one call on the connection's
thread.

The engine's events do not see it, so the caller tells the change tracker what it wrote
(:meth:`ChangeTracker.bump_scoped`) after the commit: the read caches of this process then
miss as after any other commit, and other processes learn of it as always (the WAL header and
the change log's triggers). SQLite only (``supported``); elsewhere use a session.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

__all__ = ["DirectUpdate"]


class DirectUpdate:
    """``statement`` compiled for ``engine``; :meth:`run` executes and commits it."""

    def __init__(self, engine: AsyncEngine, statement: Update) -> None:
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._compiled = compiled
        self._sql = str(compiled)
        binds: Mapping[str, Any] = compiled._bind_processors
        self._positions = [(name, binds.get(name)) for name in compiled.positiontup or ()]
        self.supported = engine.dialect.driver == "aiosqlite"

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        """The driver's positional parameters for ``values`` (and the statement's own)."""
        given = self._compiled.construct_params(dict(values))
        return [given[key] if proc is None else proc(given[key]) for key, proc in self._positions]

    async def run(self, values: Mapping[str, Any]) -> int:
        """Execute with ``values`` and commit; returns the number of rows changed. A
        connection that failed is invalidated (the pool drops it) and the error raised."""
        parameters = self.parameters(values)
        fairy = await self._engine.raw_connection()
        try:
            driver: Any = fairy.driver_connection
            changed: int = await driver._execute(_commit_one, driver._conn, self._sql, parameters)
        except BaseException:
            fairy.invalidate()
            raise
        finally:
            await greenlet_spawn(fairy.close)
        return changed


def _commit_one(connection: sqlite3.Connection, sql: str, parameters: list[Any]) -> int:
    """On the connection's thread: the statement and its commit (rolled back on error)."""
    try:
        changed = connection.execute(sql, parameters).rowcount
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return changed
