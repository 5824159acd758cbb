"""A small, separate allowance for password hashing.

Argon2 (argon2-cffi's defaults) takes 64 MiB and, with its four lanes, every core for tens of
milliseconds per hash. In the shared thread pool (40 threads) a flood of log-ins ran 40 at
once: +1.3 GB, and every other request waited for a thread and a core. Here hashing runs in
its own ``concurrency`` threads (memory ceiling: ``concurrency`` x 64 MiB) at a lower CPU
priority (nice 10, which argon2's lane threads inherit), so the event loop serving everyone
else comes first; at most ``queue`` more wait, and beyond that the answer is 429 at once: a
flood gets refused, not served late to everyone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from salon.errors import AuthError

T = TypeVar("T")

log = logging.getLogger("salon.auth.hashing")

BUSY_MESSAGE = "the server is busy checking passwords; try again in a second"
# Niceness of the hashing threads (Linux keeps it per thread): below request handling.
HASH_NICE = 10


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_NICE)
    except (OSError, AttributeError):  # pragma: no cover - not Linux, or not allowed
        log.info("could not lower the password-hashing threads' priority")


class HashPool:
    def __init__(self, concurrency: int = 2, queue: int = 16) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix="salon-hash",
            initializer=_lower_priority,
        )
        self._admitted_max = concurrency + queue
        self._admitted = 0

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """``func(*args)`` in one of this pool's threads; AuthError("rate_limited") when
        ``concurrency + queue`` calls are already running or waiting."""
        if self._admitted >= self._admitted_max:
            raise AuthError("rate_limited", BUSY_MESSAGE)
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)
        finally:
            self._admitted -= 1
