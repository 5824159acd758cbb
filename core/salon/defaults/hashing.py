"""A small, separate allowance for password hashing.

Argon2 (argon2-cffi's defaults) takes 64 MiB and, with its four lanes, every core for tens of
milliseconds per hash. In the shared thread pool (40 threads) a flood of log-ins ran 40 at
once: +1.3 GB, and every other request waited for a thread and a core. Here hashing runs in
its own ``concurrency`` threads (memory ceiling: ``concurrency`` x 64 MiB) at a lower CPU
priority (nice 10, which argon2's lane threads inherit), so the event loop serving everyone
else comes first; at most ``queue`` more wait, and beyond that the answer is 429 at once: a
flood gets refused, not served late to everyone. Checks for clients without a known-good
signal (below), which is what a flood is, run at nice 19: each hash is four lane threads
(argon2's parallelism), and at nice 10 four of them weigh 440 against the event loop's 1024
in the kernel's share of the server's CPU; at nice 19 they weigh 60 (a flood took half a core
at nice 10 beside the hostile load's honest clients: benchmarks/load/README.md).

That queue is shared by every client, so a flood from many addresses filled it and a real user
signing in got 429 seven times in nine (second outside attack: 60 addresses). So each client
address may hold at most ``per_client`` places (running or waiting), and ``reserved`` places are
kept for clients presenting a valid device cookie of the account they sign in to (the login
throttle's known-good signal, :class:`salon.domain.auth.throttle.DeviceCookies`); those also
go ahead of the others in the queue, and (with two threads or more) untrusted checks use all
but one thread, so a known browser never waits for a flood's hashes to finish. Who is asking
is told by :func:`hashing_for` (the account routes' rate-limit guard) and
:func:`hashing_trusted` (the login throttle), through a context variable, so the auth
provider's API stays as it was; a check with no client named (a CLI command, a route outside
``/api/auth``) counts as an untrusted client without an address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from salon.errors import AuthError

T = TypeVar("T")

log = logging.getLogger("salon.auth.hashing")

BUSY_MESSAGE = "the server is busy checking passwords; try again in a second"
# Niceness of the hashing threads (Linux keeps it per thread, and new threads, argon2's lanes,
# inherit it): below request handling, and lowest for checks of unknown clients.
HASH_NICE = 10
UNTRUSTED_HASH_NICE = 19


def _lower_priority(nice: int) -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (OSError, AttributeError):  # pragma: no cover - not Linux, or not allowed
        log.info("could not lower the password-hashing threads' priority")


@dataclass(frozen=True, slots=True)
class HashClient:
    """Who a password check is for: the client's address, and whether it showed a known-good
    signal (a valid device cookie of the account)."""

    address: str
    trusted: bool = False


_client: ContextVar[HashClient | None] = ContextVar("salon_hash_client", default=None)


def hashing_for(address: str) -> None:
    """The rest of this request's password checks are for the client at ``address``
    (untrusted). Each request runs in a task of its own, so this ends with the request."""
    _client.set(HashClient(address))


@contextlib.contextmanager
def hashing_trusted(trusted: bool) -> Iterator[None]:
    """Password checks made inside are for the current client, trusted when ``trusted``."""
    current = _client.get()
    token = _client.set(HashClient(current.address if current else "", trusted))
    try:
        yield
    finally:
        _client.reset(token)


class HashPool:
    def __init__(
        self, concurrency: int = 2, queue: int = 16, per_client: int = 2, reserved: int = 4
    ) -> None:
        self._admitted_max = concurrency + queue
        self._untrusted_max = concurrency + queue - min(reserved, queue)
        self._per_client = per_client
        self._admitted = 0
        self._by_address: Counter[str] = Counter()
        self._free = concurrency
        # With places reserved, untrusted checks leave one thread free for trusted ones, so a
        # known browser never waits for a flood's hashes to finish.
        self._untrusted_threads = concurrency - 1 if reserved and concurrency > 1 else concurrency
        # Threads per kind, each kind at its own priority (a thread cannot raise its own back
        # without privileges); the counts above keep the total at ``concurrency``.
        self._executors = {
            trusted: ThreadPoolExecutor(
                max_workers=concurrency if trusted else self._untrusted_threads,
                thread_name_prefix="salon-hash" if trusted else "salon-hash-untrusted",
                initializer=_lower_priority,
                initargs=(HASH_NICE if trusted else UNTRUSTED_HASH_NICE,),
            )
            for trusted in (True, False)
        }
        self._running_untrusted = 0
        # Waiting for a thread: the trusted queue is served first.
        self._waiting: dict[bool, deque[asyncio.Future[None]]] = {True: deque(), False: deque()}

    def _admit(self, client: HashClient) -> None:
        """Count the call in, or AuthError("rate_limited") (see the module docstring)."""
        limit = self._admitted_max if client.trusted else self._untrusted_max
        mine = self._by_address[client.address] if client.address else 0
        if self._admitted >= limit or mine >= self._per_client:
            raise AuthError("rate_limited", BUSY_MESSAGE)
        self._admitted += 1
        if client.address:
            self._by_address[client.address] += 1

    def _leave(self, client: HashClient) -> None:
        self._admitted -= 1
        if client.address:
            self._by_address[client.address] -= 1
            if not self._by_address[client.address]:
                del self._by_address[client.address]

    def _may_start(self, trusted: bool) -> bool:
        return trusted or self._running_untrusted < self._untrusted_threads

    async def _thread(self, trusted: bool) -> None:
        """Wait for one of the ``concurrency`` threads (trusted waiters first)."""
        queued = self._waiting[True] or (not trusted and self._waiting[False])
        if self._free and not queued and self._may_start(trusted):
            self._take(trusted)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting[trusted].append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._give_back(trusted)  # given a thread just as it was cancelled
            else:
                self._waiting[trusted].remove(waiter)
            raise

    def _take(self, trusted: bool) -> None:
        self._free -= 1
        if not trusted:
            self._running_untrusted += 1

    def _give_back(self, trusted: bool) -> None:
        """A thread is free again: hand it to the first waiter that may start, trusted first."""
        self._free += 1
        if not trusted:
            self._running_untrusted -= 1
        for kind in (True, False):
            queue = self._waiting[kind]
            while queue and self._may_start(kind):
                waiter = queue.popleft()
                if not waiter.done():
                    self._take(kind)
                    waiter.set_result(None)
                    return

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """``func(*args)`` in one of this pool's threads; AuthError("rate_limited") when the
        pool is full for this client (see the module docstring)."""
        client = _client.get() or HashClient("")
        self._admit(client)
        try:
            await self._thread(client.trusted)
            try:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executors[client.trusted], func, *args)
            finally:
                self._give_back(client.trusted)
        finally:
            self._leave(client)
