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
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

__all__ = ["DirectUpdate"]


class DirectUpdate:
    """``statement`` compiled for ``engine``; :meth:`run` executes and commits it."""

    def __init__(
        self, engine: AsyncEngine, statement: Update, returning: Sequence[ColumnElement[Any]] = ()
    ) -> None:
        """``returning``: columns the statement returns (for :meth:`returned`)."""
        if returning:
            statement = statement.returning(*returning)
        compiled = statement.compile(dialect=engine.dialect)
        self._engine = engine
        self._compiled = compiled
        self._sql = str(compiled)
        binds: Mapping[str, Any] = compiled._bind_processors
        self._positions = [(name, binds.get(name)) for name in compiled.positiontup or ()]
        self.supported = engine.dialect.driver == "aiosqlite"
        # With RETURNING: each returned column's key and the conversion SQLAlchemy applies.
        self._returned = [
            (str(c.key), c.type._cached_result_processor(engine.dialect, None)) for c in returning
        ]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        """The driver's positional parameters for ``values`` (and the statement's own)."""
        given = self._compiled.construct_params(dict(values))
        return [given[key] if proc is None else proc(given[key]) for key, proc in self._positions]

    async def run(self, values: Mapping[str, Any]) -> int:
        """Execute with ``values`` and commit; returns the number of rows changed. A
        connection that failed is invalidated (the pool drops it) and the error raised."""
        changed, _rows = await self._trip(values)
        return changed

    async def returned(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """Like :meth:`run`, for a statement with RETURNING: the first row returned, its
        values converted as SQLAlchemy would (by column key), or None when none changed."""
        _changed, rows = await self._trip(values)
        if not rows:
            return None
        return {
            key: value if convert is None else convert(value)
            for (key, convert), value in zip(self._returned, rows[0], strict=True)
        }

    async def _trip(self, values: Mapping[str, Any]) -> tuple[int, list[Any]]:
        parameters = self.parameters(values)
        fairy = await self._engine.raw_connection()
        try:
            driver: Any = fairy.driver_connection
            outcome: tuple[int, list[Any]] = await driver._execute(
                _commit_one, driver._conn, self._sql, parameters
            )
        except BaseException:
            fairy.invalidate()
            raise
        finally:
            await greenlet_spawn(fairy.close)
        return outcome


def _commit_one(
    connection: sqlite3.Connection, sql: str, parameters: list[Any]
) -> tuple[int, list[Any]]:
    """On the connection's thread: the statement and its commit (rolled back on error);
    the rows changed and those returned."""
    try:
        cursor = connection.execute(sql, parameters)
        rows = cursor.fetchall()  # RETURNING rows: read before the commit
        changed = cursor.rowcount
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    return changed, rows
