"""The database engine Salon uses, for the app and the migrations alike.

Here, under ``salon.db``, so the migrations need nothing from the layers above them;
``salon.runtime.make_engine`` is the same function (older imports keep working).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InvalidRequestError, NoSuchModuleError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from salon.db.sqlite_driver import OneHopDbapi
from salon.errors import ConfigurationError

__all__ = ["SQLITE_POOL_SIZE", "make_engine"]

SQLITE_POOL_SIZE = 32


def make_engine(database_url: str) -> AsyncEngine:
    """The async engine for ``database_url``; a URL it cannot use is a ConfigurationError (a
    one-line start-up error), never with the URL in it: it may hold a password."""
    try:
        return _engine(database_url)
    except ArgumentError:
        raise ConfigurationError("SALON_DATABASE_URL is not a database URL") from None
    except (ImportError, InvalidRequestError, NoSuchModuleError) as exc:
        raise ConfigurationError(
            f"SALON_DATABASE_URL names a database or driver Salon cannot use ({exc}); "
            "use sqlite+aiosqlite:// or postgresql+asyncpg://"
        ) from None


def _engine(database_url: str) -> AsyncEngine:
    if database_url.startswith("sqlite"):
        engine = create_async_engine(
            database_url,
            connect_args={"timeout": 30},
            hide_parameters=True,
            # One trip to aiosqlite's thread per statement, not four (issue 19.2).
            module=OneHopDbapi() if "+aiosqlite" in database_url else None,
            **_sqlite_pool(database_url),
        )
        _tune_sqlite(engine)
        return engine
    # No pool_pre_ping (a SELECT 1 round trip per checkout): a read that finds its connection
    # dead runs again (salon.request_middleware.retry_read); a write answers 503.
    return create_async_engine(database_url, pool_size=10, max_overflow=20, hide_parameters=True)


def _sqlite_pool(database_url: str) -> dict[str, int]:
    """Enough kept connections for the requests a worker has in flight under load. With the
    default 5, the connections past it were opened and closed again per checkout: each one a
    new aiosqlite thread, four PRAGMAs and the schema parsed again, which cost reads a quarter
    of their throughput (issue 21). An idle one holds a thread and its page cache (filled
    only as pages are read). An in-memory database has one connection (StaticPool)."""
    url = make_url(database_url)
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        return {}
    return {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_SIZE}


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL lets readers run beside the writer; foreign keys are off by default in SQLite."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
