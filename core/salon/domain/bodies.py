"""Limits on what a request body may cost the server before anyone looked at it (issue 17).

- JSON bodies are capped in size by the app's ``request_max_body_size`` (set from
  ``SALON_MAX_JSON_BODY_BYTES``) and in nesting depth here, before decoding: the decoder
  recurses once per level, and a deep ``[[[...`` ends in a RecursionError (a 500).
- Every body must keep arriving (:func:`paced`): a client that sends one byte every few
  seconds would otherwise hold its upload slot, its temporary file and its socket forever.
- Each user has a few upload slots at a time, and the process takes in a few uploads at once
  (:class:`UploadSlots`).
"""

from __future__ import annotations

import asyncio
import functools
import re
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any

import anyio
from litestar import Request
from litestar.exceptions import ClientException, HTTPException
from litestar.status_codes import HTTP_408_REQUEST_TIMEOUT, HTTP_429_TOO_MANY_REQUESTS

from salon.domain.images.pool import FairTurns
from salon.errors import MediaBusy
from salon.runtime import runtime_of

INTAKE_RETRY_AFTER = 2  # seconds: a turn frees up in milliseconds once the backlog moves
# A JSON string, escapes included: brackets inside strings are not nesting.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPENERS = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """Whether ``body`` nests arrays/objects deeper than ``max_depth`` (malformed JSON is left
    to the decoder, which gives its own 400)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= max_depth:
        return False
    depth = 0
    for c in brackets:
        if c in _OPENERS:
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


class SalonRequest(Request[Any, Any, Any]):
    """Litestar's request, whose body must keep pace (:func:`paced`, every route: a JSON body
    dripped a byte at a time is cut as an upload is) and whose JSON depth is checked before
    the body is decoded."""

    def stream(self) -> AsyncGenerator[bytes, None]:
        core = runtime_of(self).core
        return paced(
            super().stream(), max_pause=core.body_read_timeout, min_rate=core.body_min_rate
        )

    async def json(self) -> Any:
        body = await self.body()
        limit = runtime_of(self).core.max_json_depth
        if json_depth_exceeds(body, limit):
            raise ClientException(f"JSON nested deeper than {limit} levels")
        return await super().json()


class BodyTooSlow(HTTPException):
    status_code = HTTP_408_REQUEST_TIMEOUT


async def paced(
    chunks: AsyncIterator[bytes], *, max_pause: float, min_rate: int
) -> AsyncGenerator[bytes, None]:
    """Yield ``chunks`` while the sender keeps pace: each chunk within ``max_pause`` seconds of
    the previous one, and once ``max_pause`` seconds have passed, ``min_rate`` bytes per second
    on average since the start. Otherwise 408."""
    start = time.monotonic()
    received = 0
    while True:
        now = time.monotonic()
        # Later than this, the average would have dropped below min_rate.
        rate_deadline = start + max_pause + received / min_rate
        wait = min(max_pause, rate_deadline - now)
        try:
            with anyio.fail_after(max(wait, 0.0)):
                chunk = await anext(chunks)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise BodyTooSlow(
                f"the request body arrived too slowly (at least {min_rate} bytes/s, "
                f"no pause over {max_pause:g} s)"
            ) from None
        received += len(chunk)
        yield chunk


class UploadSlots:
    """At most ``per_user`` uploads of one user at a time in this process; more answer 429.

    And at most ``intake`` uploads taken in at once (0: no bound), once their bytes have
    arrived: the duplicate and quota reads, the header probe, storing the original and the
    row cost the event loop about as much CPU as ten reads, and every read waits behind what
    the loop is doing. The others wait for a turn (:class:`FairTurns`: the user who has used
    the least intake time goes first, so one user's bulk upload does not hold everyone's) for
    up to ``intake_wait`` seconds, then answer 503 with ``Retry-After``. The body is read
    before the turn and the wait for a media place comes before it too, so neither a slow
    sender nor a user whose images wait for their renditions holds one (issue 17)."""

    def __init__(self, per_user: int, intake: int = 0, intake_wait: float = 10.0) -> None:
        self._per_user = per_user
        self._busy: dict[uuid.UUID, int] = {}
        self._intake = intake
        self._intake_wait = intake_wait
        self._turns = FairTurns(intake) if intake else None

    @contextmanager
    def hold(self, user_id: uuid.UUID) -> Iterator[None]:
        busy = self._busy.get(user_id, 0)
        if busy >= self._per_user:
            raise HTTPException(
                status_code=HTTP_429_TOO_MANY_REQUESTS,
                detail=f"at most {self._per_user} uploads at a time per user; "
                "wait for one to finish",
                headers={"Retry-After": "5"},
            )
        self._busy[user_id] = busy + 1
        try:
            yield
        finally:
            left = self._busy[user_id] - 1
            if left:
                self._busy[user_id] = left
            else:
                del self._busy[user_id]

    @asynccontextmanager
    async def intake(self, user_id: uuid.UUID) -> AsyncIterator[None]:
        """A turn to take in one upload of ``user_id``, or MediaBusy (503) after waiting
        ``intake_wait`` seconds for one."""
        turns = self._turns
        if turns is None:
            yield
            return
        try:
            async with asyncio.timeout(self._intake_wait):
                await turns.acquire(user_id)
        except TimeoutError:
            raise MediaBusy(
                f"the server is taking in {self._intake} uploads and more are waiting; "
                "try again shortly",
                retry_after=INTAKE_RETRY_AFTER,
            ) from None
        started = time.monotonic()
        try:
            yield
        finally:
            turns.release(user_id, time.monotonic() - started)

    def turn(self, user_id: uuid.UUID) -> Callable[[], AbstractAsyncContextManager[None]]:
        """:meth:`intake` for ``user_id``, to be entered later (``ImageService.ingest`` takes
        it once the image has a media place: a wait for one must not hold a turn)."""
        return functools.partial(self.intake, user_id)
