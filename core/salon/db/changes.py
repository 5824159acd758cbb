"""Which tables may have changed since a cache was filled, answered without a query.

Salon's read caches (a verified access token, the signed-in user, a page of images) are only
worth having if checking them costs far less than the query they save, and they are only safe
if no commit is ever missed. :class:`ChangeTracker` keeps one counter per table and answers
``version("images", "albums")`` with a number that changes whenever a commit may have changed
any of them. A cache stores the version it read *before* its query and serves an entry only
while the version is still the same.

Commits are seen at the engine, whatever code made them (core, plugins, raw SQL):

- **this process**: each INSERT/UPDATE/DELETE notes its table on the connection; the counters
  move when the transaction commits, and once more when the connection is next used or given
  back to the pool (after the commit has finished, so a reader that raced the commit cannot
  keep what it read before it).
- **other processes, PostgreSQL**: statement triggers (migration 0002) ``pg_notify`` the table
  on channel ``salon_changes``; :func:`listen_postgres` bumps the counters. While that listener
  is not connected the tracker is *not live* and every version is new, so caches miss.
- **other processes, SQLite**: every commit rewrites the WAL index header (the first 48 bytes
  of the ``-shm`` file: frame count, salts, checksums), which SQLite itself reads to detect
  change. The tracker maps that file and compares the header on each ``version()``; any
  change moves every counter.

Anything it cannot classify (DDL, a statement it does not parse) moves every counter.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import mmap
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("salon.db.changes")

CHANNEL = "salon_changes"
PING_SECONDS = 10.0
LISTENER_NAME = "salon-change-listener"  # how operators find it in pg_stat_activity
ALL = "*"
_PENDING = "salon_written_tables"
_COMMITTED = "salon_committed_tables"
_WRITE = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?(\w+)", re.IGNORECASE
)
_READ_PREFIXES = ("select", "savepoint", "release", "rollback", "pragma", "show", "explain")
_WAL_INDEX_HEADER = 48


def written_table(statement: str) -> str | None:
    """The table a statement writes, ``ALL`` when it may write something it does not name
    plainly, or None for a read."""
    head = statement.lstrip()[:12].lower()
    if head.startswith(_READ_PREFIXES):
        return None
    match = _WRITE.match(statement)
    return match.group(1).lower() if match else ALL


class ChangeTracker:
    """Per-table change counters for one database; see the module docstring."""

    def __init__(self, *, live: bool = True) -> None:
        self._clock = itertools.count(1)
        self._changed: dict[str, int] = {}
        self._all = next(self._clock)
        self.live = live
        self._external: Callable[[], bool] | None = None

    def version(self, *tables: str) -> int:
        """A number that changes whenever a commit may have changed one of ``tables``.
        Compare versions for equality only. Not live: a new number on every call."""
        if not self.live:
            return next(self._clock)
        if self._external is not None and self._external():
            self.bump((ALL,))
        changed = self._changed
        return max(self._all, *(changed.get(table, 0) for table in tables))

    def bump(self, tables: Iterable[str]) -> None:
        """Record that ``tables`` (``"*"``: all of them) changed."""
        tick = next(self._clock)
        for table in tables:
            if table == ALL:
                self._all = tick
            else:
                self._changed[table] = tick

    def set_live(self, live: bool) -> None:
        """Start or stop trusting the counters; either way everything counts as changed,
        since commits may have been missed while not live."""
        self.live = live
        self.bump((ALL,))

    def watch(self, engine: AsyncEngine) -> ChangeTracker:
        """Follow the commits made through ``engine`` (and, for a SQLite file, by anyone)."""
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "before_cursor_execute", self._note_write)
        event.listen(sync_engine, "commit", self._on_commit)
        event.listen(sync_engine, "rollback", self._on_rollback)
        event.listen(sync_engine, "begin", self._after_commit)
        event.listen(sync_engine.pool, "checkin", self._on_checkin)
        database = engine.url.database
        if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
            self._external = SqliteWalWatch(database).changed
        elif engine.url.get_backend_name() == "postgresql":
            self.live = False  # until listen_postgres is connected
        return self

    def _note_write(
        self, conn: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        table = written_table(statement)
        if table is not None:
            conn.info.setdefault(_PENDING, set()).add(table)

    def _on_commit(self, conn: Any) -> None:
        tables = conn.info.pop(_PENDING, None)
        if tables:
            self.bump(tables)
            conn.info[_COMMITTED] = tables

    def _on_rollback(self, conn: Any) -> None:
        conn.info.pop(_PENDING, None)
        self._after_commit(conn)

    def _after_commit(self, conn: Any) -> None:
        self._bump_committed(conn.info)

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None:  # the pool's record shares its info dict with the Connection
            self._bump_committed(record.info)

    def _bump_committed(self, info: dict[str, Any]) -> None:
        """Bump again, once the commit has finished, the tables the last commit wrote."""
        tables = info.pop(_COMMITTED, None)
        if tables:
            self.bump(tables)


class SqliteWalWatch:
    """Tells whether any connection, in any process, has committed to a SQLite database in
    WAL mode since the last call, from the WAL index header in its ``-shm`` file."""

    def __init__(self, database: str) -> None:
        self._path = f"{database}-shm"
        self._inode = -1
        self._map: mmap.mmap | None = None
        self._last = b""

    def changed(self) -> bool:
        header = self._header()
        if header == self._last and header:
            return False
        self._last = header
        return True

    def _header(self) -> bytes:
        try:
            inode = os.stat(self._path).st_ino
            if inode != self._inode or self._map is None:
                self._remap(inode)
        except (OSError, ValueError):
            self._map, self._inode = None, -1
            return b""  # no index (no connection open yet): treat every call as a change
        assert self._map is not None
        return self._inode.to_bytes(8, "little") + self._map[:_WAL_INDEX_HEADER]

    def _remap(self, inode: int) -> None:
        if self._map is not None:
            self._map.close()
        with open(self._path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), _WAL_INDEX_HEADER, access=mmap.ACCESS_READ)
        self._inode = inode


async def listen_postgres(tracker: ChangeTracker, url: URL, *, retry_seconds: float = 1.0) -> None:
    """Follow ``salon_changes`` notifications until cancelled, reconnecting with backoff.
    The tracker is live only while a listening connection is open."""
    import asyncpg  # type: ignore[import-untyped]

    params = url.translate_connect_args(username="user")
    delay = retry_seconds
    while True:
        try:
            conn = await asyncpg.connect(
                **params, server_settings={"application_name": LISTENER_NAME}
            )
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            log.warning("change listener cannot connect (%s); caches stay off", type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            continue
        delay = retry_seconds
        try:
            await _follow(conn, tracker)
            log.warning("change listener lost its connection; caches off until it is back")
        finally:
            tracker.set_live(False)
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
        await asyncio.sleep(delay)  # a server that just went away is rarely back at once


async def _follow(conn: Any, tracker: ChangeTracker) -> None:
    """Bump ``tracker`` for each notification on ``conn`` until the connection is lost."""
    lost = asyncio.Event()
    conn.add_termination_listener(lambda _conn: lost.set())
    await conn.add_listener(CHANNEL, lambda _c, _pid, _channel, table: tracker.bump((table,)))
    tracker.set_live(True)
    while not lost.is_set():
        try:
            await asyncio.wait_for(lost.wait(), PING_SECONDS)
        except TimeoutError:
            # A connection dropped without a FIN (a NAT timeout, a failover) is only noticed
            # by using it; until then notifications would silently stop.
            try:
                await conn.fetchval("SELECT 1", timeout=PING_SECONDS / 2)
            except Exception:
                return
