"""Where renditions are computed: a few low-priority child processes, with a bounded queue.

Making renditions is the heaviest CPU work Salon does (about 650 ms of CPU for a 12 MP photo).
Run in the web process's threads it competes with every request for the GIL and both cores, so
browsing slows down eightfold while someone uploads. Here it runs in ``SALON_MEDIA_WORKERS``
child processes (default: one per core but one) niced by ``SALON_MEDIA_NICE``, so the kernel
gives the event loop the CPU first and the web process keeps a core of its own.

Admission is counted, not queued in memory without bound: at most ``workers + queue`` images
are accepted and not yet finished in this process; past that :meth:`MediaPool.reserve` raises
:class:`MediaBusy` (the upload answers 503 with ``Retry-After``) or, for callers that may wait
(imports, the sweep), waits for a slot.

A processor that cannot be pickled (a third-party one holding a client, say) runs in threads
instead, still bounded by ``workers``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import anyio

from salon.errors import MediaBusy, ProviderError
from salon.providers import MediaProcessor, ProcessedMedia, RenditionSpec

__all__ = ["MediaPool", "Reservation", "default_workers"]

log = logging.getLogger("salon.media.pool")

RETRY_AFTER_SECONDS = 5

_processor: MediaProcessor | None = None  # in a child process: the one it was started with


def default_workers() -> int:
    """One process per core but one, so requests keep a core; at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


def _child_init(processor: MediaProcessor, nice: int) -> None:
    global _processor
    _processor = processor
    if nice:
        try:
            os.nice(nice)
        except OSError:  # pragma: no cover - lowering priority is always allowed on Linux
            log.warning("could not lower the media worker's priority")


def _child_process(source: Path, out_dir: Path, specs: Sequence[RenditionSpec]) -> ProcessedMedia:
    if _processor is None:  # pragma: no cover - the initializer always ran
        raise ProviderError("media worker process started without a processor")
    return _processor.process(source, out_dir, specs)


def _picklable(processor: MediaProcessor) -> bool:
    try:
        pickle.dumps(processor)
    except Exception:
        return False
    return True


class Reservation:
    """One admitted image's place in the pool; :meth:`release` it once (idempotent)."""

    def __init__(self, pool: MediaPool) -> None:
        self._pool: MediaPool | None = pool

    def release(self) -> None:
        if self._pool is not None:
            self._pool._release()
            self._pool = None


class MediaPool:
    """Runs ``processor.process`` in niced child processes, ``workers`` at a time."""

    def __init__(
        self, processor: MediaProcessor, *, workers: int = 0, queue: int = 64, nice: int = 10
    ) -> None:
        self.processor = processor
        self.workers = workers or default_workers()
        self.capacity = self.workers + queue
        self.nice = nice
        self.uses_processes = _picklable(processor)
        if not self.uses_processes:
            log.warning(
                "media processor %s cannot be pickled: renditions are made in threads of this "
                "process (bounded, but not at a lower priority)",
                type(processor).__name__,
            )
        self._admitted = 0
        self._freed = asyncio.Event()
        self._running: asyncio.Semaphore | None = None
        self._threads = anyio.CapacityLimiter(self.workers)
        self._executor: ProcessPoolExecutor | None = None

    @property
    def admitted(self) -> int:
        """Images accepted and not finished yet (waiting or being processed)."""
        return self._admitted

    # ------------------------------------------------------------------ admission

    def try_reserve(self) -> Reservation:
        """A place for one image, or :class:`MediaBusy` when ``workers + queue`` are taken."""
        if self._admitted >= self.capacity:
            raise MediaBusy(
                f"{self._admitted} images are waiting for their renditions; try again shortly",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self._admitted += 1
        return Reservation(self)

    async def reserve(self) -> Reservation:
        """A place for one image, waiting for one when the pool is full."""
        while self._admitted >= self.capacity:
            self._freed.clear()
            await self._freed.wait()
        return self.try_reserve()

    def _release(self) -> None:
        self._admitted -= 1
        self._freed.set()

    # ------------------------------------------------------------------ work

    async def process(
        self, source: Path, out_dir: Path, specs: Sequence[RenditionSpec]
    ) -> ProcessedMedia:
        """``processor.process(source, out_dir, specs)`` in a worker; at most ``workers`` run
        at once, the others wait here (in arrival order)."""
        if self._running is None:
            self._running = asyncio.Semaphore(self.workers)
        async with self._running:
            if not self.uses_processes:
                return await anyio.to_thread.run_sync(
                    self.processor.process, source, out_dir, specs, limiter=self._threads
                )
            try:
                return await self._in_child(source, out_dir, specs)
            except BrokenProcessPool:
                # A child died (killed, out of memory): start fresh ones and try once more.
                log.error("a media worker process died; restarting the pool")
                self._reset()
                try:
                    return await self._in_child(source, out_dir, specs)
                except BrokenProcessPool:
                    self._reset()
                    raise ProviderError("the media worker process died twice") from None

    async def _in_child(
        self, source: Path, out_dir: Path, specs: Sequence[RenditionSpec]
    ) -> ProcessedMedia:
        loop = asyncio.get_running_loop()
        executor = self._ensure_executor()
        result: ProcessedMedia = await loop.run_in_executor(
            executor, _child_process, source, out_dir, tuple(specs)
        )
        return result

    def _ensure_executor(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the web process has threads (a fork could copy a held lock).
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_init,
                initargs=(self.processor, self.nice),
            )
        return self._executor

    def _reset(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    async def aclose(self, grace: float = 10.0) -> None:
        """Stop the child processes: queued work is dropped (its images stay ``processing``
        for the sweep), work in a child gets ``grace`` seconds, then the child is killed."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        with anyio.move_on_after(grace):
            await anyio.to_thread.run_sync(
                lambda: executor.shutdown(wait=True, cancel_futures=True), abandon_on_cancel=True
            )
        for process in processes:
            if process.is_alive():
                process.kill()

    def describe(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "capacity": self.capacity,
            "admitted": self._admitted,
            "processes": self.uses_processes,
        }
