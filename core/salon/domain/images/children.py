"""The media worker processes themselves: each one call at a time over a pipe of its own that
the event loop reads (issue 21).

A ``ProcessPoolExecutor`` cost the web process two threads' work per image besides the loop's:
its manager thread woke to move the call into a queue, the queue's feeder thread woke to pickle
and write it, the manager woke again to read the result and woke the loop in turn; every wake
took the GIL from the requests being answered. Here the loop pickles the call onto the
child's pipe itself (a few hundred bytes) and reads the answer when the pipe is readable
(``loop.add_reader``): no thread is involved. :class:`~salon.domain.images.pool.MediaPool`
decides how many calls run at once; a call that finds every child busy (one whose caller gave
up still finishes its call) waits for one.

Children are started with ``spawn`` (the web process has threads: a fork could copy a held
lock), lowered to ``nice``, die with the parent (:func:`salon.processes.die_with_parent`) and
ignore SIGINT (a terminal's Ctrl-C stops the server, which stops them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import anyio

from salon.errors import ProviderError
from salon.providers import MediaProcessor

__all__ = ["MediaChildren"]

log = logging.getLogger("salon.media.pool")

Init = Callable[[MediaProcessor, int, int], None]


def _child_main(conn: Connection, init: Init, processor: MediaProcessor, nice: int) -> None:
    """A child's life: ``init``, then answer ``(work, args)`` calls until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init(processor, nice, os.getppid())
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if message is None:
            return
        work, args = message
        try:
            reply: tuple[bool, Any] = (True, work(*args))
        except BaseException as exc:
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # an answer that does not pickle
            conn.send((False, ProviderError(f"a media worker's answer could not be sent: {exc}")))


class _Child:
    def __init__(self, init: Init, processor: MediaProcessor, nice: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(
            target=_child_main,
            args=(theirs, init, processor, nice),
            name="salon-media",
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self.answer: asyncio.Future[tuple[bool, Any]] | None = None

    def send(self, work: Callable[..., Any], args: tuple[Any, ...]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        self.answer = answer = loop.create_future()
        try:
            self.conn.send((work, args))
        except (BrokenPipeError, ConnectionResetError, EOFError):
            answer.set_exception(BrokenProcessPool("the media worker process is gone"))
            return answer
        loop.add_reader(self.conn.fileno(), self._readable, loop, answer)
        return answer

    def _readable(self, loop: asyncio.AbstractEventLoop, answer: asyncio.Future[Any]) -> None:
        loop.remove_reader(self.conn.fileno())
        try:
            reply = self.conn.recv()
        except (EOFError, OSError):
            reply = (False, BrokenProcessPool("a media worker process died"))
        except Exception as exc:  # an answer that does not unpickle here; the child is fine
            reply = (False, ProviderError(f"a media worker's answer could not be read: {exc}"))
        if not answer.done():
            answer.set_result(reply)

    @property
    def broken(self) -> bool:
        answer = self.answer
        if answer is None or not answer.done() or answer.cancelled():
            return False
        if answer.exception() is not None:
            return True
        ok, value = answer.result()
        return not ok and isinstance(value, BrokenProcessPool)

    def kill(self) -> None:
        """Kill the process (if alive) and close the pipe; a call under way fails with
        BrokenProcessPool (its reader goes first: a closed descriptor must not stay
        registered with the loop, whose number the next pipe may get)."""
        with contextlib.suppress(OSError, ValueError):
            if self.process.is_alive():
                self.process.kill()
        answer = self.answer
        if answer is not None and not answer.done():
            with contextlib.suppress(OSError, ValueError):
                answer.get_loop().remove_reader(self.conn.fileno())
            answer.set_exception(BrokenProcessPool("the media worker process was stopped"))
            answer.exception()  # its caller may have given up: no "never retrieved" warning
        with contextlib.suppress(OSError):
            self.conn.close()


class MediaChildren:
    """At most ``size`` child processes running ``init(processor, nice, parent_pid)`` once and
    then one ``work(*args)`` call at a time each (``work``: a module-level function)."""

    def __init__(self, size: int, init: Init, processor: MediaProcessor, nice: int) -> None:
        self.size = size
        self._init = init
        self._processor = processor
        self._nice = nice
        self._children: list[_Child] = []
        self._idle: list[_Child] = []
        self._waiting: deque[asyncio.Future[_Child]] = deque()

    def pids(self) -> list[int]:
        """The live children's process ids."""
        return [c.process.pid for c in self._children if c.process.pid and c.process.is_alive()]

    async def call(self, work: Callable[..., Any], *args: Any) -> Any:
        """``work(*args)`` in a child; its exception is raised here. BrokenProcessPool when
        the child died meanwhile (it is replaced on the next call)."""
        child = await self._take()
        answer = child.send(work, args)
        try:
            ok, value = await asyncio.shield(answer)
        except asyncio.CancelledError:
            # The child still finishes the call: it is given back only once it has answered.
            answer.add_done_callback(lambda _: self._give_back(child))
            raise
        finally:
            if answer.done():
                self._give_back(child)
        if ok:
            return value
        raise value

    async def _take(self) -> _Child:
        if self._idle:
            return self._idle.pop()
        if len(self._children) < self.size:
            child = _Child(self._init, self._processor, self._nice)
            self._children.append(child)
            return child
        waiter: asyncio.Future[_Child] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())
            raise

    def _give_back(self, done: _Child) -> None:
        if done not in self._children:
            return  # closed meanwhile
        child: _Child | None = done
        if done.broken:
            done.kill()
            self._children.remove(done)
            child = None
        while self._waiting:
            waiter = self._waiting.popleft()
            if waiter.done():
                continue
            if child is None:  # room for a fresh child: the waiter gets one
                child = _Child(self._init, self._processor, self._nice)
                self._children.append(child)
            waiter.set_result(child)
            return
        if child is not None:
            self._idle.append(child)

    async def aclose(self, grace: float) -> None:
        """Stop every child: idle ones at once, busy ones after their call or ``grace``
        seconds, whichever comes first (then killed)."""
        children, self._children, self._idle = self._children, [], []
        for waiter in self._waiting:
            waiter.cancel()
        self._waiting.clear()
        busy = [c.answer for c in children if c.answer is not None and not c.answer.done()]
        if busy:
            with anyio.move_on_after(grace):
                await asyncio.wait(busy)
        for child in children:
            if child.answer is None or child.answer.done():
                with contextlib.suppress(OSError, ValueError):
                    child.conn.send(None)  # done: it exits by itself
            else:
                child.kill()  # still busy after ``grace``
        await anyio.to_thread.run_sync(_reap, children, abandon_on_cancel=True)


def _reap(children: list[_Child]) -> None:
    """Wait for the children to exit (killing any that does not within a second)."""
    for child in children:
        child.process.join(1.0)
        child.kill()
        with contextlib.suppress(ValueError, AssertionError):
            child.process.join(1.0)
