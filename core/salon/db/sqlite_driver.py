"""SQLAlchemy's aiosqlite adapter with one thread hand-off per statement (issue 19.2).

aiosqlite runs each call on its connection's thread: SQLAlchemy's adapter makes four calls
per statement (open a cursor, execute, fetch all, close), and a rollback on every return to
the pool. Each call queues a function, wakes the thread, hands it the GIL and wakes the
event loop again; under load those hand-offs were the largest cost of an uncached listing
(14 per request). Here a statement is one call that does all four on the thread, and a
connection with no transaction open (a read: pysqlite begins one only before a write) is
returned to the pool without a rollback call. Results, errors and isolation are sqlite3's,
as before; only the number of trips to the thread changes.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

__all__ = ["OneHopDbapi", "run_statement"]

# What a statement leaves on the cursor: description, rows, lastrowid, rowcount.
_Outcome = tuple[Any, list[Any] | None, int | None, int]


def run_statement(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On the connection's thread: the whole statement, as SQLAlchemy's adapter would."""
    cursor = connection.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, cursor.fetchall(), -1, -1
        return None, None, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            connection = self._connection
            call = connection._execute(run_statement, connection._conn, operation, parameters)
            outcome = self.await_(call)
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description, rows, self.lastrowid, self.rowcount = outcome
        if rows is not None:
            self._rows = deque(rows)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side)
        return OneHopCursor(self)

    def rollback(self) -> None:
        # Read on the event loop's side while no call of this connection is queued (the
        # adapter's calls are sequential): nothing to roll back, so no trip to the thread.
        raw = self._connection._connection
        if raw is not None and not raw.in_transaction:
            return
        super().rollback()


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The ``module`` for ``create_async_engine("sqlite+aiosqlite://…", module=…)``."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        if type(adapted) is not AsyncAdapt_aiosqlite_connection:
            return adapted  # the sync fallback (async_fallback=True): left as it is
        return OneHopConnection(self, adapted._connection)
