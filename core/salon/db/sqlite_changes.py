"""What other connections to a SQLite file committed, for :class:`salon.db.changes.ChangeTracker`.

:class:`SqliteWalWatch` says *that* some connection, in any process, committed (from the WAL
index header); :class:`SqliteChangeLog` then says *whose* gallery rows changed, from the log
the row triggers of migration 0011 append to. Both answer in microseconds, without the app's
engine, so a cache check stays far cheaper than the query it saves.
"""

from __future__ import annotations

import logging
import mmap
import os
import sqlite3
import threading
import uuid

log = logging.getLogger("salon.db.changes")

_WAL_INDEX_HEADER = 48
# The nine row triggers of migration 0011 and the six of 0018. A later migration that rebuilds
# a table (SQLite's batch ALTER) drops its triggers; the log is then not trusted.
_TRIGGERS = 15
# Tables whose every change the log names, without a scope (0018).
WHOLE_LOGGED = frozenset({"users", "refresh_tokens"})


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


class SqliteChangeLog:
    """Reads the ``(table, scope)`` rows appended to ``salon_change_log`` since the last read.

    :meth:`read` answers None when it cannot vouch for every change since then: the first
    read, a log without its triggers (a schema before 0011, or a table rebuilt since), rows
    pruned before this reader saw them, or any error. The caller then treats everything as
    changed."""

    def __init__(self, database: str) -> None:
        self._database = database
        self._conn: sqlite3.Connection | None = None
        self._seq: int | None = None
        self._lock = threading.Lock()  # version() may be called from threads too

    def read(self) -> list[tuple[str, str]] | None:
        with self._lock:
            try:
                return self._read()
            except sqlite3.Error as exc:
                log.debug("change log unreadable (%s); counting every table", exc)
                self._seq = None
                return None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _read(self) -> list[tuple[str, str]] | None:
        conn = self._connection()
        conn.execute("BEGIN")  # one snapshot for the trigger check and the rows
        try:
            (triggers,) = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'salon\\_log\\_%' ESCAPE '\\' AND name != 'salon_log_prune'"
            ).fetchone()
            if triggers != _TRIGGERS:
                self._seq = None
                return None
            since = self._seq
            if since is None:
                row = conn.execute("SELECT coalesce(max(seq), 0) FROM salon_change_log").fetchone()
                self._seq = int(row[0])
                return None
            rows = conn.execute(
                "SELECT seq, tbl, scope FROM salon_change_log WHERE seq > ? ORDER BY seq", (since,)
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        if not rows:
            return []
        self._seq = int(rows[-1][0])
        if rows[0][0] != since + 1:
            return None  # pruned before this reader saw them
        return [(str(table), _scope(scope)) for _seq, table, scope in rows]

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode (isolation_level None): BEGIN/COMMIT above are the only
            # transaction, so the connection holds no snapshot between reads.
            self._conn = sqlite3.connect(
                self._database, timeout=1.0, isolation_level=None, check_same_thread=False
            )
        return self._conn


def _scope(value: object) -> str:
    """The scope as the ORM side names it: ``str(uuid)`` for the 16-byte GUIDs SQLite holds."""
    if isinstance(value, bytes) and len(value) == 16:
        return str(uuid.UUID(bytes=value))
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return value
    return str(value)
