"""Rate limits on the account routes, shared by every web process of the gallery.

Counters are fixed windows, one upsert per hit, atomic across processes (the password checks
combine two of them into a sliding window, :func:`sliding_reserve`):

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

Every check of an account's password counts there, not only sign-in: a wrong current password
on ``/api/auth/change-password`` or when minting an API key. Each attempt is counted before
the password is hashed and taken back when it was not a wrong password
(:meth:`AuthThrottle.password_check`), so parallel guesses cannot exceed the limit, and the
window slides: failures just before a window boundary still count just after it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import math
import random
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from salon.db.models import RateCounter
from salon.defaults.hashing import hashing_for, hashing_trusted
from salon.errors import AuthError
from salon.runtime import runtime_of
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

    async def unhit(self, key: str, window: int, now: float) -> None: ...

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

    async def unhit(self, key: str, window: int, now: float) -> None:
        """Take back one hit counted at ``now`` (a reservation that was not used)."""
        start, _ = _window(window, now)
        table = RateCounter.__table__
        statement = (
            update(table)
            .where(table.c.key == key, table.c.window_start == start, table.c.hits > 0)
            .values(hits=table.c.hits - 1)
        )
        async with self._engine.connect() as conn:
            await conn.execute(statement)

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
            # Two workers opening the file at once: switching it to WAL takes a lock that the
            # busy timeout does not wait for ("database is locked", a 500 on a worker's first
            # login); the other worker's switch is done a moment later.
            for attempt in range(10):
                conn = sqlite3.connect(self._path, timeout=5.0, isolation_level=None)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=NORMAL")  # a lost counter is fine
                    conn.execute(_SCHEMA)
                except sqlite3.OperationalError:
                    conn.close()
                    if attempt == 9:
                        raise
                    time.sleep(0.02 * (attempt + 1))
                    continue
                self._conn = conn
                break
        assert self._conn is not None
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

    def _unhit(self, key: str, window_start: int) -> None:
        self._connection().execute(
            "UPDATE counters SET hits = hits - 1 WHERE key = ? AND window_start = ? AND hits > 0",
            (key, window_start),
        )

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

    async def unhit(self, key: str, window: int, now: float) -> None:
        """Take back one hit counted at ``now`` (a reservation that was not used)."""
        await self._run(self._unhit, key, _window(window, now)[0])

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


# The codes that mean "wrong password": only these keep a reserved attempt counted.
FAILURE_CODES = frozenset({"invalid_credentials", "wrong_password"})


class Reservation:
    """One attempt counted ahead of the work it guards; :meth:`release` takes it back."""

    def __init__(self, counters: Counters, key: str, window: int, now: float) -> None:
        self._counters, self._key, self._window, self._now = counters, key, window, now
        self._released = False

    async def release(self) -> None:
        if not self._released:
            self._released = True
            await self._counters.unhit(self._key, self._window, self._now)


async def sliding_reserve(
    counters: Counters, key: str, limit: int, window: int, what: str
) -> Reservation:
    """Count an attempt on ``key`` and refuse it (429, not counted) when the attempts of the
    last ``window`` seconds exceed ``limit``. The window slides: the previous fixed window's
    count weighs by how much of it is still inside the last ``window`` seconds (Cloudflare's
    estimate), so a burst at the end of one window and another at the start of the next are
    counted together. The hit comes first, so concurrent attempts never see a stale count."""
    now = time.time()
    start, _ = _window(window, now)
    here = f"{key}@{start}"
    current, _ = await counters.hit(here, window, now)
    previous, _ = await counters.count(f"{key}@{start - window}", window, now - window)
    weight = 1 - (now - start) / window
    if current + previous * weight > limit:
        await counters.unhit(here, window, now)
        raise _refuse(_sliding_wait(current - 1, previous, limit, window, now - start), what)
    return Reservation(counters, here, window, now)


def _sliding_wait(current: int, previous: int, limit: int, window: int, elapsed: float) -> int:
    """Seconds until one more attempt fits, if nobody tries meanwhile; at most ``window``
    (an exact sliding log would have forgotten every failure by then)."""
    if current >= limit:  # only the next window's start brings this one's count down
        decay = window * (1 - (limit - 1) / current) if current else 0
        return max(1, min(window, math.ceil(window - elapsed + decay)))
    # previous * (1 - t / window) + current + 1 <= limit  <=>  t >= window * (1 - room/previous)
    room = limit - 1 - current
    needed = window * (1 - room / previous) if previous else elapsed
    return max(1, math.ceil(needed - elapsed))


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

    @contextlib.asynccontextmanager
    async def password_check(
        self, email: str, device_cookie: str | None = None
    ) -> AsyncIterator[str | None]:
        """Around one check of ``email``'s password (sign-in, change-password, minting a key):
        the attempt is counted as a failure *before* the check (atomically, so parallel
        guesses cannot all pass a count read before any failed), and taken back unless the
        check raised :class:`AuthError` ``invalid_credentials``/``wrong_password``. 429 while
        this client may not try: its device cookie is locked, or (without a valid one)
        untrusted clients are locked out of the account. Yields the device cookie's nonce when
        it is valid for the account."""
        device = self.devices.nonce(device_cookie, email)
        limit = self.device_failure_limit if device is not None else self.failure_limit
        what = "failed sign-ins from this browser" if device else "failed sign-ins for this account"
        reservation = await self.reserve(self._failures_key(email, device), limit, what)
        try:
            with hashing_trusted(device is not None):  # places kept for known browsers
                yield device
        except AuthError as exc:
            if exc.code not in FAILURE_CODES:
                await reservation.release()
            raise
        except BaseException:
            await reservation.release()
            raise
        await reservation.release()

    async def reserve(self, key: str, limit: int, what: str) -> Reservation:
        """Count one attempt on ``key`` in a sliding window of ``SALON_LOGIN_FAILURE_WINDOW``;
        raise 429 (taking the attempt back) when that makes more than ``limit``."""
        return await sliding_reserve(self.counters, key, limit, self.failure_window, what)

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
    address = request.client.host if request.client else "unknown"
    await runtime_of(request).services.throttle.client(bucket, address)
    hashing_for(address)  # password hashing's places per client address
