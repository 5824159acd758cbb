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
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from salon.db.sqlite_driver import run_statement

__all__ = ["DirectSelect"]

_Processor = Callable[[Any], Any] | None


class DirectSelect:
    """``statement`` compiled for ``engine``; :meth:`rows` runs it with bound values."""

    def __init__(self, engine: AsyncEngine, statement: Select[Any]) -> None:
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
        processors = [column.type._cached_result_processor(dialect, None) for column in columns]
        # Only the columns that have a conversion are touched per row.
        self._results = [(i, proc) for i, proc in enumerate(processors) if proc is not None]
        row_type: Any = namedtuple("_Row", [str(c.key) for c in columns])  # type: ignore[misc]
        self._make: Callable[[list[Any]], Any] = row_type._make
        self._asyncpg = dialect.driver == "asyncpg"
        self._aiosqlite = dialect.driver == "aiosqlite"

    @property
    def supported(self) -> bool:
        """Whether the engine's driver is one this runs on (else use a session)."""
        return self._asyncpg or self._aiosqlite

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        """The driver's positional parameters for ``values`` (and the statement's own)."""
        given = self._compiled.construct_params(dict(values))
        return [given[key] if proc is None else proc(given[key]) for key, proc in self._positions]

    async def rows(self, values: Mapping[str, Any]) -> list[Any]:
        """The statement's rows for ``values``, as named tuples of converted values. A
        connection the driver reports lost is invalidated (the pool drops it); the error is
        raised for the caller to decide."""
        parameters = self.parameters(values)
        fairy = await self._engine.raw_connection()
        try:
            raw = await self._fetch(fairy.driver_connection, parameters)
        except BaseException:
            fairy.invalidate()
            raise
        finally:
            await greenlet_spawn(fairy.close)
        rows = []
        for row in raw:
            cells = list(row)
            for i, proc in self._results:
                cells[i] = proc(cells[i])
            rows.append(self._make(cells))
        return rows

    async def _fetch(self, driver: Any, parameters: list[Any]) -> Any:
        if self._asyncpg:
            return await driver.fetch(self._sql, *parameters)
        outcome = await driver._execute(run_statement, driver._conn, self._sql, parameters)
        return outcome[1] or ()
