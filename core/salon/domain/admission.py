"""Per-account turns for "count, then insert" bounds (jobs per user, storage quota, open
direct uploads): parallel requests of one account must not all pass a count made before any
of them wrote its row (attack report 3: 12 videos at once against a limit of 4, 4 uploads of
1 MB against a 3 MB quota, 40 upload intents against a cap of 32).

A turn is an asyncio lock per (bound, account), kept while anyone holds or waits for it. It is
per process: with N web processes an account may pass a bound by at most N - 1. Hold it only
around the count and the insert, never around a body read or storage I/O, and not while the
request's own session holds a connection it is not using (end the read first).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator

__all__ = ["owner_turn"]

_turns: weakref.WeakValueDictionary[tuple[str, uuid.UUID], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


@contextlib.asynccontextmanager
async def owner_turn(bound: str, owner_id: uuid.UUID) -> AsyncIterator[None]:
    """The body runs with no other turn of the same ``bound`` and owner in this process."""
    key = (bound, owner_id)
    lock = _turns.get(key)
    if lock is None:
        lock = _turns[key] = asyncio.Lock()
    async with lock:
        yield
