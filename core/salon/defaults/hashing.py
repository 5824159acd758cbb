"""A small, separate allowance for password hashing.

Argon2 (argon2-cffi's defaults) takes about 64 MiB and tens of milliseconds of CPU per hash. In
the shared thread pool (40 threads) a flood of log-ins ran 40 at once: +1.3 GB, and every other
request waited for a thread. Here at most ``concurrency`` hashes run at once (memory ceiling:
``concurrency`` x 64 MiB), at most ``queue`` more wait, and beyond that the answer is 429 at
once: a flood gets refused, not served late to everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from salon.errors import AuthError

T = TypeVar("T")

BUSY_MESSAGE = "the server is busy checking passwords; try again in a second"


class HashPool:
    def __init__(self, concurrency: int = 2, queue: int = 16) -> None:
        self._limiter = anyio.CapacityLimiter(concurrency)
        self._admitted_max = concurrency + queue
        self._admitted = 0

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """``func(*args)`` in a thread under this pool's limit; AuthError("rate_limited")
        when ``concurrency + queue`` calls are already running or waiting."""
        if self._admitted >= self._admitted_max:
            raise AuthError("rate_limited", BUSY_MESSAGE)
        self._admitted += 1
        try:
            return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)
        finally:
            self._admitted -= 1
