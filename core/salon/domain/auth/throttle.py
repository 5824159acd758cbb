"""Rate limits on the account routes, shared by every web process of the gallery.

Counters are fixed windows, one upsert per hit, atomic across processes:

- **PostgreSQL**: the table ``rate_counters`` of the gallery's database, so every process of
  every server (the tasks of an ECS service) counts together. The table has no change
  trigger: a login attempt wakes no other process and drops no read cache.
- **SQLite**: a small SQLite file in the data folder (``ratelimit.sqlite3``). Every process of
  a SQLite gallery is on one machine, so the file is shared by all of them; keeping the
  counters out of the gallery's file keeps a login flood off its single write lock and from
  dropping every other process's read caches (SQLite says only *that* the file changed).

Buckets, each per real client address (see :mod:`salon.proxies` for addresses behind a proxy):
``login`` (``SALON_AUTH_RATE_LIMIT`` a minute), ``refresh`` (``SALON_REFRESH_RATE_LIMIT`` a
minute: a busy login bucket never logs anyone out) and ``auth`` (sign-up and the other account
forms, ``SALON_AUTH_RATE_LIMIT``).

Failed logins per account follow OWASP's device cookies
(https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies): a
successful browser login gets a signed cookie bound to the account (:class:`DeviceCookies`).
Failures from clients without one for that account count together: after
``SALON_LOGIN_FAILURE_LIMIT`` within ``SALON_LOGIN_FAILURE_WINDOW`` seconds, such clients'
logins to the account answer 429 until the window ends. A client presenting a valid device
cookie for the account is not held by that: it has its own budget of
``SALON_LOGIN_DEVICE_FAILURE_LIMIT`` failures per window, after which that cookie is locked.
So a guesser who knows an e-mail can delay only the owner's logins from new browsers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import random
import secrets
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from salon.db.models import RateCounter
from salon.settings import CoreSettings

FILE_NAME = "ratelimit.sqlite3"
MINUTE = 60
# One hit in this many also deletes rows whose window ended long ago.
_SWEEP_ONE_IN = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    window_start INTEGER NOT NULL,
    hits INTEGER NOT NULL
)
"""
# Every SET expression sees the old row, so this is "count in the same window, else restart".
_HIT = """
INSERT INTO counters (key, window_start, hits) VALUES (?, ?, 1)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN counters.window_start = excluded.window_start
                THEN counters.hits + 1 ELSE 1 END,
    window_start = excluded.window_start
RETURNING hits
"""


class Counters(Protocol):
    async def hit(self, key: str, window: int, now: float | None = None) -> tuple[int, int]: ...

    async def count(self, key: str, window: int, now: float | None = None) -> tuple[int, int]: ...

    async def aclose(self) -> None: ...


class CounterTable:
    """Fixed-window counters in the gallery's PostgreSQL database (table ``rate_counters``).
    One statement per hit in autocommit: a single round trip, no transaction to begin or end."""

    def __init__(self, engine: AsyncEngine, *, sweep_one_in: int = _SWEEP_ONE_IN) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sweep_one_in = sweep_one_in

    async def hit(self, key: str, window: int, now: float | None = None) -> tuple[int, int]:
        """Count one hit; returns (hits in this window so far, seconds until it ends)."""
        start, left = _window(window, now)
        table = RateCounter.__table__
        insert = postgresql.insert(table).values(
            key=key, window_start=start, expires_at=start + window, hits=1
        )
        upsert = insert.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "hits": case(
                    (table.c.window_start == insert.excluded.window_start, table.c.hits + 1),
                    else_=1,
                ),
                "window_start": insert.excluded.window_start,
                "expires_at": insert.excluded.expires_at,
            },
        ).returning(table.c.hits)
        async with self._engine.connect() as conn:
            hits = int((await conn.execute(upsert)).scalar_one())
            if random.randrange(self._sweep_one_in) == 0:
                await conn.execute(delete(table).where(table.c.expires_at < start))
        return hits, left

    async def count(self, key: str, window: int, now: float | None = None) -> tuple[int, int]:
        """(hits in this window, seconds until it ends), without counting."""
        start, left = _window(window, now)
        table = RateCounter.__table__
        query = select(table.c.hits).where(table.c.key == key, table.c.window_start == start)
        async with self._engine.connect() as conn:
            hits = (await conn.execute(query)).scalar_one_or_none()
        return int(hits or 0), left

    async def aclose(self) -> None:
        """The engine is the gallery's; the runtime disposes of it."""


class CounterFile:
    """Fixed-window counters in a SQLite file. Calls run on one thread of their own, never in
    the shared pool where password hashing may queue: a limit check must stay fast under the
    very load it is there to shed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # a lost counter on power loss is fine
            conn.execute(_SCHEMA)
            self._conn = conn
        return self._conn

    def _hit(self, key: str, window_start: int, horizon: int) -> int:
        conn = self._connection()
        hits: int = conn.execute(_HIT, (key, window_start)).fetchone()[0]
        if random.randrange(_SWEEP_ONE_IN) == 0:
            conn.execute("DELETE FROM counters WHERE window_start < ?", (horizon,))
        return hits

    def _count(self, key: str, window_start: int) -> int:
        row = (
            self._connection()
            .execute(
                "SELECT hits FROM counters WHERE key = ? AND window_start = ?", (key, window_start)
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    async def _run(self, func: Any, *args: Any) -> Any:
        if self._executor is None:  # made on first use, again after close() (a new lifespan)
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="salon-ratelimit")
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def hit(self, key: str, window: int, now: float | None = None) -> tuple[int, int]:
        """Count one hit; returns (hits in this window so far, seconds until it ends)."""
        start, left = _window(window, now)
        horizon = start - 24 * 3600
        return await self._run(self._hit, key, start, horizon), left

    async def count(self, key: str, window: int, now: float | None = None) -> tuple[int, int]:
        """(hits in this window, seconds until it ends), without counting."""
        start, left = _window(window, now)
        return await self._run(self._count, key, start), left

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        def close_conn() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        executor, self._executor = self._executor, None
        if executor is not None:
            executor.submit(close_conn).result()
            executor.shutdown()


def _window(window: int, now: float | None) -> tuple[int, int]:
    now = time.time() if now is None else now
    start = int(now // window) * window
    return start, max(1, math.ceil(start + window - now))


def _refuse(retry_after: int, what: str) -> TooManyRequestsException:
    return TooManyRequestsException(
        f"too many {what}; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def counters_for(core: CoreSettings, engine: AsyncEngine) -> Counters:
    """The gallery's table on PostgreSQL, else the data folder's file (see the module doc)."""
    if engine.url.get_backend_name() == "postgresql":
        return CounterTable(engine)
    return CounterFile(core.data_dir / FILE_NAME)


DEVICE_COOKIE = "salon_device"


def _account(email: str) -> str:
    return email.strip().casefold()


class DeviceCookies:
    """Signed device cookies: ``<nonce>.<HMAC(key, account, nonce)>``. The account is in the
    signature only, so the cookie names no e-mail, and a cookie is valid only for the account
    it was issued to (another account's cookie is an untrusted client there)."""

    def __init__(self, secret_key: str) -> None:
        # Its own key, derived: a device cookie can never pass for a token signed elsewhere.
        self._key = hashlib.sha256(b"salon device cookie\0" + secret_key.encode()).digest()

    def _signature(self, email: str, nonce: str) -> str:
        mac = hmac.new(self._key, f"{_account(email)}\0{nonce}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def issue(self, email: str) -> str:
        nonce = secrets.token_urlsafe(16)
        return f"{nonce}.{self._signature(email, nonce)}"

    def nonce(self, cookie: str | None, email: str) -> str | None:
        """The cookie's nonce when it is a valid device cookie of ``email``'s account."""
        if not cookie or len(cookie) > 200:
            return None
        nonce, _, signature = cookie.partition(".")
        if not nonce or not hmac.compare_digest(signature, self._signature(email, nonce)):
            return None
        return nonce


class AuthThrottle:
    """The account routes' limits (see the module docstring)."""

    def __init__(self, core: CoreSettings, engine: AsyncEngine) -> None:
        self.counters = counters_for(core, engine)
        self.devices = DeviceCookies(core.secret_key)
        self.limits = {
            "login": core.auth_rate_limit,
            "auth": core.auth_rate_limit,
            "refresh": core.refresh_rate_limit,
        }
        self.failure_limit = core.login_failure_limit
        self.device_failure_limit = core.login_device_failure_limit
        self.failure_window = core.login_failure_window

    async def client(self, bucket: str, address: str) -> None:
        """Count a request of ``address`` in ``bucket``; raise 429 past the limit."""
        hits, left = await self.counters.hit(f"{bucket}:ip:{address}", MINUTE)
        if hits > self.limits[bucket]:
            raise _refuse(left, "requests from your address")

    @staticmethod
    def _failures_key(email: str, device: str | None) -> str:
        # Hashed: the counters need not hold e-mail addresses or cookie nonces.
        if device is not None:
            return "login-failed:device:" + hashlib.sha256(device.encode()).hexdigest()
        digest = hashlib.sha256(_account(email).encode()).hexdigest()
        return f"login-failed:account:{digest}"

    async def login_open(self, email: str, device_cookie: str | None = None) -> str | None:
        """Raise 429 while this client may not try ``email``'s password: its device cookie is
        locked, or (without a valid one) untrusted clients are locked out of the account.
        Returns the device cookie's nonce when it is valid for the account."""
        device = self.devices.nonce(device_cookie, email)
        key = self._failures_key(email, device)
        failures, left = await self.counters.count(key, self.failure_window)
        if device is not None and failures >= self.device_failure_limit:
            raise _refuse(left, "failed sign-ins from this browser")
        if device is None and failures >= self.failure_limit:
            raise _refuse(left, "failed sign-ins for this account")
        return device

    async def login_failed(self, email: str, device: str | None = None) -> None:
        """Count a failure against the device (its nonce from :meth:`login_open`) or, for an
        untrusted client, against the account."""
        await self.counters.hit(self._failures_key(email, device), self.failure_window)

    async def aclose(self) -> None:
        await self.counters.aclose()


async def throttle_guard(
    request: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """A guard (runs before the body is read): count the request in its route's bucket,
    ``opt["rate_bucket"]`` (``auth`` by default, ``None`` for no limit)."""
    bucket = handler.opt.get("rate_bucket", "auth")
    if bucket is None:
        return
    throttle: AuthThrottle = request.app.state.throttle
    address = request.client.host if request.client else "unknown"
    await throttle.client(bucket, address)
