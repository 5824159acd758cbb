"""One database session for the reads of a hot request (issue 19.2).

An uncached ``GET /api/images`` read the database three times, each in a session of its own:
the access token's session (auth provider), the user (``UserDirectory``), the page. Each
session is a pool checkout and return, and on PostgreSQL a BEGIN and a ROLLBACK besides its
query. A route that opts in (``opt={"shared_reads": True}``) gets one session for all of
them: :func:`read_session` hands the same session to each reader during that request, and
the request middleware closes it (returning the connection) before the response is
sent, so no connection is held while a body streams.

Only readers that ask through :func:`read_session` share, and only in a route that opted in;
everywhere else :func:`read_session` is a plain ``async with sessions()``. The shared session
is used by one request's code, one reader after another (guard, dependencies, handler), never
concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar, Token
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class SharedReads:
    """The request's shared session, opened on first use (only once ``enabled``)."""

    __slots__ = ("_session", "closed", "sessions", "task", "token")

    def __init__(self) -> None:
        self.token: Token[SharedReads | None] | None = None
        self.sessions: async_sessionmaker[Any] | None = None
        self.task: asyncio.Task[Any] | None = None
        self._session: AsyncSession | None = None
        self.closed = False

    def session_for(self, sessions: async_sessionmaker[Any]) -> AsyncSession | None:
        # Only the request's own task: a task it started inherits this object (contexts are
        # copied) but must not use the session beside it.
        if self.closed or self.sessions is not sessions or asyncio.current_task() is not self.task:
            return None
        if self._session is None:
            self._session = sessions()
        return self._session

    async def close(self) -> None:
        self.closed = True
        session, self._session = self._session, None
        if session is not None:
            await session.close()


_current: ContextVar[SharedReads | None] = ContextVar("salon_shared_reads", default=None)


def share_reads(sessions: async_sessionmaker[Any]) -> None:
    """From here to the response, :func:`read_session` on ``sessions`` gives one session."""
    shared = _current.get()
    if shared is not None and not shared.closed:
        shared.sessions = sessions
        shared.task = asyncio.current_task()


@contextlib.asynccontextmanager
async def read_session(sessions: async_sessionmaker[Any]) -> AsyncIterator[AsyncSession]:
    """A session to read with: the request's shared one where the route opted in, else a
    session of its own, closed at the end of the block. Commit nothing through it."""
    shared = _current.get()
    session = shared.session_for(sessions) if shared is not None else None
    if session is None:
        async with sessions() as own:
            yield own
        return
    try:
        yield session
    except BaseException:
        # A failed read (a lost connection) leaves the session unusable: later readers of
        # this request get sessions of their own, so they fail, or succeed, on their own.
        assert shared is not None
        await shared.close()
        raise


def begin_shared_reads() -> SharedReads:
    """Give the request about to run a place for its shared session (the request
    middleware, :mod:`salon.request_middleware`, calls this and :func:`end_shared_reads`)."""
    shared = SharedReads()
    shared.token = _current.set(shared)
    return shared


async def end_shared_reads(shared: SharedReads) -> None:
    """Close the request's shared session, if still open, and forget it."""
    try:
        await shared.close()
    finally:
        if shared.token is not None:
            _current.reset(shared.token)


__all__ = ["SharedReads", "begin_shared_reads", "end_shared_reads", "read_session", "share_reads"]
