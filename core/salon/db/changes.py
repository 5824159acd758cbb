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

**Per owner.** The tables a gallery page is read from (``SCOPED``: images and albums by
``owner_id``, album_images by ``album_id``) also have counters per scope, so a write by one
user does not drop every other user's pages: :meth:`ChangeTracker.version_for` answers for
``("images", str(owner_id))`` pairs. A write is counted per scope only when its scope is known
for certain; otherwise it moves the whole table's counter, as before:

- **this process**: ORM flushes name the rows they wrote (``after_flush``: the owner before and
  after, from the loaded attributes); a statement outside a flush (Core ``update()``, raw SQL),
  or a flush whose rows lack the column, counts for the whole table, unless it names its
  scopes itself with the execution option :data:`SCOPES_OPTION` (``(table, scope)`` pairs; a
  statement that can move a row to another scope must name both).
- **other processes, PostgreSQL**: row triggers (migration 0008) ``pg_notify`` ``table:scope``
  on channel ``salon_row_changes``; once they exist the statement trigger's notifications for
  these tables are ignored (a TRUNCATE sends the bare table name there).
- **other processes, SQLite**: the WAL header says only that something changed; row triggers
  (migration 0011) append ``(table, scope)`` to ``salon_change_log``, which the tracker reads
  when the header moves (:mod:`salon.db.sqlite_changes`): the scopes it names move, so do
  ``users`` and ``refresh_tokens`` when it names them (0018: the token and user caches), and
  every other table moves. The header also moves on this process's own commits, so the
  same path covers them. Without the log's triggers, or when rows were pruned before this
  process read them, every counter moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import weakref
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from salon.db.sqlite_changes import WHOLE_LOGGED, SqliteChangeLog, SqliteWalWatch

log = logging.getLogger("salon.db.changes")

CHANNEL = "salon_changes"
ROW_CHANNEL = "salon_row_changes"
ROW_TRIGGER = "salon_notify_row_change"
# The tables counted per scope, and the column that names the scope.
SCOPED = {"images": "owner_id", "albums": "owner_id", "album_images": "album_id"}
# The tables the SQLite change log names (the rest move on any other process's commit).
_LOGGED = frozenset(SCOPED) | WHOLE_LOGGED
_SCOPED_WRITES = "salon_scoped_writes"  # scoped tables written, not (yet) named by a flush
_FLUSH_MARK = "salon_flush_mark"
_PENDING_SCOPES = "salon_written_scopes"
_COMMITTED_SCOPES = "salon_committed_scopes"
PING_SECONDS = 10.0
LISTENER_NAME = "salon-change-listener"  # how operators find it in pg_stat_activity
ALL = "*"
_PENDING = "salon_written_tables"
_COMMITTED = "salon_committed_tables"
_WRITE = re.compile(
    r"\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+[\"`]?(\w+)", re.IGNORECASE
)
# Execution option of a statement on a SCOPED table that names the scopes it writes, e.g.
# ``update(Image).where(...).execution_options(salon_change_scopes=(("images", owner),))``.
SCOPES_OPTION = "salon_change_scopes"
_READ_PREFIXES = ("select", "savepoint", "release", "rollback", "pragma", "show", "explain")


def written_table(statement: str) -> str | None:
    """The table a statement writes, ``ALL`` when it may write something it does not name
    plainly, or None for a read."""
    head = statement.lstrip()[:12].lower()
    if head.startswith(_READ_PREFIXES):
        return None
    match = _WRITE.match(statement)
    return match.group(1).lower() if match else ALL


class ChangeTracker:
    """Per-table (and per-scope) change counters for one database; see the module docstring."""

    def __init__(self, *, live: bool = True) -> None:
        self._clock = itertools.count(1)
        self._changed: dict[str, int] = {}  # any change to the table, scoped or not
        self._whole: dict[str, int] = {}  # changes not known to one scope
        self._scoped: dict[tuple[str, str], int] = {}
        self._all = next(self._clock)
        self._others = 0  # another connection's commit, to any table the log does not name
        self.live = live
        self._wal: SqliteWalWatch | None = None
        self._log: SqliteChangeLog | None = None

    def version(self, *tables: str) -> int:
        """A number that changes whenever a commit may have changed one of ``tables``.
        Compare versions for equality only. Not live: a new number on every call."""
        if not self.live:
            return next(self._clock)
        if self._wal is not None:
            self._poll_sqlite()
        changed = self._changed
        others = self._others if any(table not in _LOGGED for table in tables) else 0
        return max(self._all, others, *(changed.get(table, 0) for table in tables))

    def version_for(self, *scopes: tuple[str, str]) -> int:
        """Like :meth:`version`, for ``(table, scope)`` pairs: a number that changes whenever
        a commit may have changed a row of ``table`` in ``scope`` (``str(owner_id)`` for images
        and albums, ``str(album_id)`` for album_images)."""
        if not self.live:
            return next(self._clock)
        if self._wal is not None:
            self._poll_sqlite()
        whole, scoped = self._whole, self._scoped
        return max(
            self._all,
            *(max(whole.get(table, 0), scoped.get((table, scope), 0)) for table, scope in scopes),
        )

    def bump(self, tables: Iterable[str]) -> None:
        """Record that ``tables`` (``"*"``: all of them) changed."""
        tick = next(self._clock)
        for table in tables:
            if table == ALL:
                self._all = tick
            else:
                self._changed[table] = tick
                self._whole[table] = tick

    def bump_scoped(self, scopes: Iterable[tuple[str, str]]) -> None:
        """Record that rows of ``table`` in ``scope`` changed, for each pair."""
        tick = next(self._clock)
        for table, scope in scopes:
            self._changed[table] = tick
            self._scoped[(table, scope)] = tick

    def _poll_sqlite(self) -> None:
        """After any commit to the file (this process's too): the scoped tables by the rows
        the change log names, every other table as changed."""
        assert self._wal is not None
        if not self._wal.changed():
            return
        scopes = self._log.read() if self._log is not None else None
        if scopes is None:
            self.bump((ALL,))
            return
        self._others = next(self._clock)
        whole = {table for table, _scope in scopes if table not in SCOPED}
        if whole:
            self.bump(whole)
        named = [(table, scope) for table, scope in scopes if table in SCOPED]
        if named:
            self.bump_scoped(named)

    def notified(self, payload: str) -> None:
        """A ``salon_row_changes`` payload: ``table:scope``, or a bare table name."""
        table, _, scope = payload.partition(":")
        if scope:
            self.bump_scoped(((table, scope),))
        else:
            self.bump((table or ALL,))

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
        _TRACKERS[sync_engine] = self
        database = engine.url.database
        if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
            self._wal = SqliteWalWatch(database)
            self._log = SqliteChangeLog(database)
        elif engine.url.get_backend_name() == "postgresql":
            self.live = False  # until listen_postgres is connected
        return self

    def _note_write(
        self,
        conn: Any,
        _cursor: Any,
        statement: str,
        _parameters: Any = None,
        context: Any = None,
        *_args: Any,
    ) -> None:
        table = written_table(statement)
        if table is None:
            return
        options = getattr(context, "execution_options", None) or {}
        named = options.get(SCOPES_OPTION)
        if table in SCOPED and named and all(t == table for t, _ in named):
            # The statement names its rows' scopes: other owners' cached pages stay.
            conn.info.setdefault(_PENDING_SCOPES, set()).update(named)
        elif table in SCOPED:
            # Counted for the whole table unless the flush that sent it names its rows.
            conn.info.setdefault(_SCOPED_WRITES, []).append(table)
        else:
            conn.info.setdefault(_PENDING, set()).add(table)

    def before_flush(self, conn: Any) -> None:
        conn.info[_FLUSH_MARK] = len(conn.info.get(_SCOPED_WRITES, ()))

    def after_flush(self, conn: Any, flush_context: Any) -> None:
        """Name the scopes of the rows this flush wrote; the scoped-table statements it sent
        are then covered. A flush that fails never gets here: its statements stay counted for
        the whole table."""
        if _FLUSH_MARK not in conn.info:
            return
        mark = conn.info.pop(_FLUSH_MARK)
        scopes: set[tuple[str, str]] = set()
        whole: set[str] = set()
        for state, (_isdelete, listonly) in list(flush_context.states.items()):
            if listonly:
                continue
            table = getattr(state.mapper.local_table, "name", None)
            column = SCOPED.get(table or "")
            if table is None or column is None:
                continue
            current = state.dict.get(column)
            if current is None:  # not loaded: which owner's rows changed is not known
                whole.add(table)
                continue
            # An update that moved the row also changed its former scope.
            former = state.attrs[column].history.deleted or ()
            scopes.update((table, str(value)) for value in (current, *former) if value is not None)
        writes = conn.info.get(_SCOPED_WRITES)
        if writes is not None:
            del writes[mark:]
        if whole:
            conn.info.setdefault(_PENDING, set()).update(whole)
        if scopes:
            conn.info.setdefault(_PENDING_SCOPES, set()).update(scopes)

    def _on_commit(self, conn: Any) -> None:
        tables = conn.info.pop(_PENDING, None) or set()
        tables.update(conn.info.pop(_SCOPED_WRITES, None) or ())
        scopes = conn.info.pop(_PENDING_SCOPES, None)
        conn.info.pop(_FLUSH_MARK, None)
        if tables:
            self.bump(tables)
            conn.info[_COMMITTED] = tables
        if scopes:
            self.bump_scoped(scopes)
            conn.info[_COMMITTED_SCOPES] = scopes

    def _on_rollback(self, conn: Any) -> None:
        if conn.invalidated:
            # A lost connection (no pre-ping: a read then runs again). Its info went with it,
            # so a commit it made just before dying may not have had its second bump yet.
            self.bump((ALL,))
            return
        for key in (_PENDING, _SCOPED_WRITES, _PENDING_SCOPES, _FLUSH_MARK):
            conn.info.pop(key, None)
        self._after_commit(conn)

    def _after_commit(self, conn: Any) -> None:
        self._bump_committed(conn.info)

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None:  # the pool's record shares its info dict with the Connection
            self._bump_committed(record.info)

    def _bump_committed(self, info: dict[str, Any]) -> None:
        """Bump again, once the commit has finished, what the last commit wrote."""
        tables = info.pop(_COMMITTED, None)
        if tables:
            self.bump(tables)
        scopes = info.pop(_COMMITTED_SCOPES, None)
        if scopes:
            self.bump_scoped(scopes)


# Sessions are not tied to an engine when a listener is set, so one pair of session listeners
# hands each flush to the tracker of the engine it went through.
_TRACKERS: weakref.WeakKeyDictionary[Any, ChangeTracker] = weakref.WeakKeyDictionary()


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, *_args: Any) -> None:
    if _TRACKERS:
        conn = session.connection()
        tracker = _TRACKERS.get(conn.engine)
        if tracker is not None:
            tracker.before_flush(conn)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: Any) -> None:
    if _TRACKERS:
        conn = session.connection()
        tracker = _TRACKERS.get(conn.engine)
        if tracker is not None:
            tracker.after_flush(conn, flush_context)


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
    # Where the row triggers (0008) exist they tell the scoped tables' changes per owner; the
    # statement trigger's bare names for those tables would drop every owner's pages.
    rows = await conn.fetchval("SELECT count(*) FROM pg_trigger WHERE tgname = $1", ROW_TRIGGER)
    skip = frozenset(SCOPED) if rows else frozenset()

    def on_table(_c: Any, _pid: int, _channel: str, table: str) -> None:
        if table not in skip:
            tracker.bump((table,))

    await conn.add_listener(CHANNEL, on_table)
    await conn.add_listener(ROW_CHANNEL, lambda _c, _pid, _channel, p: tracker.notified(p))
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
