"""Where renditions are computed: a few low-priority child processes, with a bounded queue.

Making renditions is the heaviest CPU work Salon does (about 650 ms of CPU for a 12 MP photo).
Run in the web process's threads it competes with every request for the GIL and both cores, so
browsing slows down eightfold while someone uploads. Here it runs in ``SALON_MEDIA_WORKERS``
child processes (default: one per core but one) niced by ``SALON_MEDIA_NICE``, so the kernel
gives the event loop the CPU first and the web process keeps a core of its own.

Admission is counted, not queued in memory without bound: at most ``workers + queue`` images
are accepted and not yet finished in this process; past that :meth:`MediaPool.try_reserve`
raises :class:`MediaBusy` (the upload answers 503 with ``Retry-After``) or, for callers that
may wait (imports, the sweep), :meth:`MediaPool.reserve` waits for a place.

One user cannot take the others' places or turns (issue 17): each owner may have at most
``per_owner`` (``SALON_MEDIA_QUEUE_PER_USER``) images admitted, so refusing everyone takes
``queue / per_owner`` users with full backlogs, not one; and the ``workers`` places where
decodes run go to the waiting owner who has used the least worker time (:class:`FairTurns`), so a
user's photo waits behind what is already being decoded, not behind another user's backlog.

A processor that cannot be pickled (a third-party one holding a client, say) runs in threads
instead, still bounded by ``workers``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
import pickle
import shutil
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

import anyio

from salon.domain.images.children import MediaChildren
from salon.errors import MediaBusy, ProviderError
from salon.processes import die_with_parent
from salon.providers import MediaProcessor, ProcessedMedia, RenditionSpec

__all__ = ["FairTurns", "MediaPool", "Place", "Placed", "Reservation", "default_workers"]

log = logging.getLogger("salon.media.pool")

RETRY_AFTER_SECONDS = 5
_MAX_REMEMBERED = 4096  # owners whose time FairTurns keeps after their work is done

_processor: MediaProcessor | None = None  # in a child process: the one it was started with
_T = TypeVar("_T")

# Puts the rendition files of a ProcessedMedia where they belong, in the process that made
# them, and returns what to record of them (picklable: it travels to a media worker).
Place = Callable[[ProcessedMedia], dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class Placed:
    """What :meth:`MediaPool.render` hands back: the processing's result without its files
    (``renditions`` is empty: they were placed) and what ``place`` returned for them."""

    processed: ProcessedMedia
    renditions: dict[str, Any]


def default_workers() -> int:
    """One process per core but one, so requests keep a core; at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


def _child_init(processor: MediaProcessor, nice: int, parent_pid: int) -> None:
    global _processor
    _processor = processor
    # Dies with the server process (a stopped server must not leave media workers running).
    die_with_parent(parent_pid)
    if nice:
        try:
            os.nice(nice)
        except OSError:  # pragma: no cover - lowering priority is always allowed on Linux
            log.warning("could not lower the media worker's priority")


def _child_process(
    source: Path,
    out_dir: Path,
    specs: Sequence[RenditionSpec],
    processor: MediaProcessor | None = None,
) -> ProcessedMedia:
    processor = processor or _processor
    if processor is None:  # pragma: no cover - the initializer always ran
        raise ProviderError("media worker process started without a processor")
    return processor.process(source, out_dir, specs)


def _child_render(
    source: Path,
    tmp: Path,
    specs: Sequence[RenditionSpec],
    place: Place,
    drop_source: bool,
    processor: MediaProcessor | None = None,
) -> Placed:
    """The whole of one image's rendition work where it runs (a media worker process, or a
    thread for an unpicklable processor): a scratch folder in ``tmp``, the processing, the
    files placed, the folder (and with ``drop_source``, ``source``) removed. All of it here
    rather than on the event loop, where each step was a syscall or a thread hand-off per image."""
    out = Path(tempfile.mkdtemp(dir=tmp, prefix="renditions-"))
    try:
        processed = _child_process(source, out, specs, processor)
        placed = place(processed)
        return Placed(dataclasses.replace(processed, renditions=()), placed)
    finally:
        shutil.rmtree(out, ignore_errors=True)
        if drop_source:
            source.unlink(missing_ok=True)


def _picklable(processor: MediaProcessor) -> bool:
    try:
        pickle.dumps(processor)
    except Exception:
        return False
    return True


class Reservation:
    """One admitted image's place in the pool; :meth:`release` it once (idempotent)."""

    def __init__(self, pool: MediaPool, owner: Hashable | None = None) -> None:
        self._pool: MediaPool | None = pool
        self.owner = owner

    def release(self) -> None:
        if self._pool is not None:
            self._pool._release(self.owner)
            self._pool = None


class FairTurns:
    """``slots`` places shared fairly by the time they take: when one frees up it goes to the
    waiting owner who has used the least worker time (a pixel bomb costs its owner seconds, a
    small photo milliseconds), in arrival order among equals. An owner who starts waiting is
    counted from the least time of those already waiting or working, so being new, or having
    been away, gives no head start over them (as the Linux scheduler does with tasks).

    Heavy work (a large image, or one of unknown size) holds at most ``heavy_slots`` of the
    places, so the rest are always free for small images: work cannot be taken back from a
    process once it started, and a photo behind a pixel bomb would wait for its whole decode
    whatever its owner's turn."""

    def __init__(self, slots: int, heavy_slots: int | None = None) -> None:
        self._free = slots
        self._heavy_free = slots if heavy_slots is None else heavy_slots
        self._waiting: dict[Hashable | None, deque[tuple[asyncio.Future[None], bool]]] = {}
        self._held: dict[Hashable | None, int] = {}
        self._used: dict[Hashable | None, float] = {}
        self._floor = 0.0

    async def acquire(self, owner: Hashable | None, heavy: bool = True) -> None:
        self._join(owner)
        if self._free > 0 and not self._waiting and (self._heavy_free > 0 or not heavy):
            self._grant(owner, heavy)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (future, heavy)
        self._waiting.setdefault(owner, deque()).append(entry)
        self._dispatch()  # a light image may go past heavy ones waiting for a heavy place
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(owner, 0.0, heavy)  # granted as it was cancelled: pass it on
            else:
                self._forget(owner, entry)
            raise

    def release(self, owner: Hashable | None, seconds: float, heavy: bool = True) -> None:
        """Give back ``owner``'s place after ``seconds`` of work."""
        self._used[owner] = self._used.get(owner, self._floor) + seconds
        held = self._held.get(owner, 0) - 1
        if held > 0:
            self._held[owner] = held
        else:
            self._held.pop(owner, None)
        self._free += 1
        self._heavy_free += heavy
        self._leave_if_idle(owner)
        self._dispatch()

    def _grant(self, owner: Hashable | None, heavy: bool) -> None:
        self._free -= 1
        self._heavy_free -= heavy
        self._held[owner] = self._held.get(owner, 0) + 1

    def _dispatch(self) -> None:
        """Hand free places to waiting work, the least-served owner first, skipping heavy
        work while no heavy place is free."""
        while self._free > 0:
            heavy_ok = self._heavy_free > 0
            eligible = [o for o, q in self._waiting.items() if heavy_ok or not all(h for _, h in q)]
            if not eligible:
                return
            chosen = min(eligible, key=lambda o: self._used.get(o, self._floor))
            queue = self._waiting[chosen]
            entry = next(e for e in queue if heavy_ok or not e[1])
            queue.remove(entry)
            if not queue:
                del self._waiting[chosen]
            future, heavy = entry
            if not future.done():
                self._grant(chosen, heavy)
                future.set_result(None)
            else:
                self._leave_if_idle(chosen)

    def _join(self, owner: Hashable | None) -> None:
        if owner in self._held or owner in self._waiting:
            return
        active = [self._used.get(o, self._floor) for o in (*self._held, *self._waiting)]
        if active:
            self._floor = max(self._floor, min(active))
        self._used[owner] = max(self._used.get(owner, self._floor), self._floor)
        if len(self._used) > _MAX_REMEMBERED:  # owners long gone: their time is behind now
            for gone in [o for o, t in self._used.items() if t <= self._floor]:
                if gone not in self._held and gone not in self._waiting:
                    del self._used[gone]

    def _leave_if_idle(self, owner: Hashable | None) -> None:
        # An idle owner's time only matters while above the floor (it is raised on return).
        idle = owner not in self._held and owner not in self._waiting
        if idle and self._used.get(owner, self._floor) <= self._floor:
            self._used.pop(owner, None)

    def _forget(self, owner: Hashable | None, entry: tuple[asyncio.Future[None], bool]) -> None:
        queue = self._waiting.get(owner)
        if queue is not None and entry in queue:
            queue.remove(entry)
            if not queue:
                del self._waiting[owner]
        self._leave_if_idle(owner)


class MediaPool:
    """Runs ``processor.process`` in niced child processes, ``workers`` at a time."""

    def __init__(
        self,
        processor: MediaProcessor,
        *,
        workers: int = 0,
        queue: int = 64,
        per_owner: int = 8,
        nice: int = 10,
        light_pixels: int = 0,
    ) -> None:
        self.processor = processor
        self.workers = workers or default_workers()
        # Images of at most this many pixels also have a worker of their own (0: none), so a
        # photo never waits for a large image's decode (see FairTurns).
        self.light_pixels = light_pixels
        self.processes = self.workers + (1 if light_pixels > 0 else 0)
        self.capacity = self.workers + queue
        self.per_owner = per_owner
        self.nice = nice
        self.uses_processes = _picklable(processor)
        if not self.uses_processes:
            log.warning(
                "media processor %s cannot be pickled: renditions are made in threads of this "
                "process (bounded, but not at a lower priority)",
                type(processor).__name__,
            )
        self._admitted = 0
        self._by_owner: dict[Hashable, int] = {}
        self._freed = asyncio.Event()
        self._turns: FairTurns | None = None
        self._threads = anyio.CapacityLimiter(self.processes)
        self._workers: MediaChildren | None = None

    @property
    def admitted(self) -> int:
        """Images accepted and not finished yet (waiting or being processed)."""
        return self._admitted

    # ------------------------------------------------------------------ admission

    def full(self) -> bool:
        """Whether ``workers + queue`` images are admitted (nobody's upload gets in)."""
        return self._admitted >= self.capacity

    def has_room(self, owner: Hashable | None = None) -> bool:
        """Whether :meth:`try_reserve` would admit an image of ``owner`` now."""
        return not self.full() and (owner is None or self._by_owner.get(owner, 0) < self.per_owner)

    def try_reserve(self, owner: Hashable | None = None) -> Reservation:
        """A place for one image of ``owner``, or :class:`MediaBusy` when ``workers + queue``
        are taken or ``owner`` holds ``per_owner`` of them (``None``: only the former)."""
        if self.full():
            raise MediaBusy(
                f"{self._admitted} images are waiting for their renditions; try again shortly",
                retry_after=RETRY_AFTER_SECONDS,
            )
        if not self.has_room(owner):
            raise MediaBusy(
                f"{self.per_owner} of your images are waiting for their renditions (the most "
                "one user may have); try again shortly",
                retry_after=RETRY_AFTER_SECONDS,
            )
        self._admitted += 1
        if owner is not None:
            self._by_owner[owner] = self._by_owner.get(owner, 0) + 1
        return Reservation(self, owner)

    async def wait_for_room(
        self, owner: Hashable | None = None, patience: float | None = None
    ) -> None:
        """Until :meth:`try_reserve` would admit an image of ``owner``; after ``patience``
        seconds (``None``: no limit), the MediaBusy it would raise."""
        try:
            async with asyncio.timeout(patience):
                while not self.has_room(owner):
                    self._freed.clear()
                    await self._freed.wait()
        except TimeoutError:
            self.try_reserve(owner).release()  # raises MediaBusy with its message

    async def reserve(
        self, owner: Hashable | None = None, *, patience: float | None = None
    ) -> Reservation:
        """A place for one image, waiting for one (at most ``patience`` seconds, then
        MediaBusy) when the pool or ``owner``'s share is full."""
        await self.wait_for_room(owner, patience)
        return self.try_reserve(owner)

    def _release(self, owner: Hashable | None) -> None:
        self._admitted -= 1
        if owner is not None:
            left = self._by_owner[owner] - 1
            if left:
                self._by_owner[owner] = left
            else:
                del self._by_owner[owner]
        self._freed.set()

    # ------------------------------------------------------------------ work

    async def process(
        self,
        source: Path,
        out_dir: Path,
        specs: Sequence[RenditionSpec],
        owner: Hashable | None = None,
        pixels: int = 0,
    ) -> ProcessedMedia:
        """``processor.process(source, out_dir, specs)`` in a worker; at most ``workers`` run
        at once (one more for images of at most ``light_pixels`` pixels; ``pixels`` 0:
        unknown, so not one of those), the others wait here and are let in by the least
        worker time used by their ``owner`` (see :class:`FairTurns`)."""
        async with self._turn(owner, pixels):
            return await self._run(_child_process, source, out_dir, tuple(specs))

    async def render(
        self,
        source: Path,
        tmp: Path,
        specs: Sequence[RenditionSpec],
        place: Place,
        owner: Hashable | None = None,
        pixels: int = 0,
        *,
        drop_source: bool = False,
    ) -> Placed:
        """As :meth:`process`, with the rest of the work done in the worker too: the files
        are made in a scratch folder of its own in ``tmp``, put in place by ``place`` (a
        picklable callable), and the folder is removed (``source`` too, with
        ``drop_source``, once the worker is done with it). For storage the worker can write
        itself (local files); the result holds no file."""
        async with self._turn(owner, pixels):
            return await self._run(_child_render, source, tmp, tuple(specs), place, drop_source)

    @contextlib.asynccontextmanager
    async def _turn(self, owner: Hashable | None, pixels: int) -> AsyncIterator[None]:
        if self._turns is None:
            self._turns = FairTurns(self.processes, self.workers)
        turns = self._turns
        heavy = not 0 < pixels <= self.light_pixels
        await turns.acquire(owner, heavy)
        started = time.monotonic()
        try:
            yield
        finally:
            turns.release(owner, time.monotonic() - started, heavy)

    async def _run(self, work: Callable[..., _T], *args: Any) -> _T:
        if not self.uses_processes:
            call = functools.partial(work, *args, processor=self.processor)
            return await anyio.to_thread.run_sync(call, limiter=self._threads)
        children = self._children()
        try:
            result: _T = await children.call(work, *args)
        except BrokenProcessPool:
            # A child died (killed, out of memory): a fresh one tries once more.
            log.error("a media worker process died; starting another")
            try:
                result = await children.call(work, *args)
            except BrokenProcessPool:
                raise ProviderError("the media worker process died twice") from None
        return result

    def _children(self) -> MediaChildren:
        if self._workers is None:
            self._workers = MediaChildren(self.processes, _child_init, self.processor, self.nice)
        return self._workers

    def child_pids(self) -> list[int]:
        """The process ids of the media worker processes running now."""
        return self._workers.pids() if self._workers is not None else []

    async def aclose(self, grace: float = 10.0) -> None:
        """Stop the child processes: queued work is dropped (its images stay ``processing``
        for the sweep), work in a child gets ``grace`` seconds, then the child is killed."""
        workers, self._workers = self._workers, None
        if workers is not None:
            await workers.aclose(grace)

    def describe(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "light_pixels": self.light_pixels,
            "capacity": self.capacity,
            "per_owner": self.per_owner,
            "admitted": self._admitted,
            "owners": len(self._by_owner),
            "processes": self.uses_processes,
        }
