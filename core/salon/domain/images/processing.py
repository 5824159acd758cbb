"""Renditions after intake: when and where an image recorded as ``processing`` gets them.

An upload is recorded as soon as its original is stored (``status = "processing"``, its shape
read from the headers) and answered 201; its renditions are made afterwards, off the request:

- in a process that runs jobs itself (the embedded web app with its in-process worker, the
  ``salon worker`` process, the CLI), by this process's :class:`MediaPool` at once;
- in a web process whose jobs run elsewhere (``SALON_QUEUE=sqs``, or
  ``SALON_INPROCESS_WORKER=false``), by a durable ``image.renditions`` job that a worker
  takes: the web tier never decodes an image.

Either way the image row is the durable record of the work: a process that dies between the
original and the renditions leaves the row in ``processing``, and every process that makes
renditions sweeps for such rows when it starts and every minute after, so no image stays
half-processed. Processing is idempotent (the rendition keys follow from the bytes, and the
row changes only while still ``processing``), so a duplicate run only costs CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import Update, bindparam, func, select, update
from sqlalchemy import inspect as sa_inspect

from salon.db.changes import SCOPES_OPTION
from salon.db.direct_write import DirectUpdate
from salon.db.models import Image
from salon.defaults.local_storage import LocalStorage
from salon.domain.images.intake import file_chunks, spool, tmp_dir
from salon.domain.images.placement import LocalPlacement, keyed_renditions, rendition_entries
from salon.domain.images.pool import MediaPool, Reservation
from salon.domain.images.schemas import image_event
from salon.domain.jobs.services import queue_job
from salon.domain.ports import RenditionPorts, Storage
from salon.errors import (
    ObjectNotFound,
    ProviderError,
    QueueUnavailable,
    StorageError,
    UnsupportedMedia,
)
from salon.providers import MovingStorage, ProcessedMedia

__all__ = [
    "FAILED",
    "JOB_KIND",
    "PROCESSING",
    "READY",
    "RenditionService",
    "intact",
    "store_renditions",
]

log = logging.getLogger("salon.images.processing")

PROCESSING, READY, FAILED = "processing", "ready", "failed"
# The meta key of a failed image that keeps why its bytes were refused (salon.errors.MEDIA_REASONS).
REFUSAL_META = "refused"
JOB_KIND = "image.renditions"
SWEEP_INTERVAL = 60.0
# A row still processing this long after its last change has lost its worker (or its job):
# long enough that a busy pool elsewhere is not second-guessed often, short enough to repair.
STALE_AFTER = 300.0
# How long ``?wait=true`` waits for the renditions (made here or by a worker elsewhere) before
# answering with the image as it is (``processing``): behind a long queue of media work a
# request must not hang past what clients and proxies wait (the fuzz suite saw 60 s).
WAIT_LIMIT = 30.0
# How long an upload waits for a place in the media backlog (the whole backlog full, or its
# owner's share of it) before it answers 503.
ADMISSION_PATIENCE = 20.0
_POLL = (0.1, 0.2, 0.5, 1.0)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def store_renditions(
    runtime: Storage, owner_id: uuid.UUID, sha256: str, processed: ProcessedMedia
) -> dict[str, Any]:
    """Put each rendition file in storage (the files are moved, not copied, where the storage
    can: ``MovingStorage``); returns the ``Image.renditions`` mapping."""
    keyed = keyed_renditions(owner_id, sha256, processed)
    storage = runtime.storage
    if isinstance(storage, MovingStorage):
        # Not flushed to disk: renditions are made again from the original when a crash
        # leaves one short (salon doctor compares the recorded sizes; --repair).
        files = [(key, r.path, r.content_type) for key, r in keyed]
        await storage.move_files(files, durable=False)
    else:
        for key, r in keyed:
            await storage.put(key, file_chunks(r.path), content_type=r.content_type)
    return rendition_entries(keyed)


async def intact(runtime: Storage, entry: Mapping[str, Any]) -> bool:
    """The rendition ``entry`` (of ``Image.renditions``) is stored with its recorded size."""
    try:
        info = await runtime.storage.stat(entry["key"])
    except ObjectNotFound:
        return False
    return entry.get("size") in (None, info.size)


class RenditionService:
    """Makes renditions for ``processing`` images; ``local`` says whether this process does
    the work itself (see the module docstring) or leaves it to a worker through a job."""

    def __init__(self, runtime: RenditionPorts, pool: MediaPool, *, local: bool) -> None:
        self.runtime = runtime
        self.pool = pool
        self.local = local
        self.patience = ADMISSION_PATIENCE
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = DirectUpdate(runtime.engine, _ready_statement())
        self._ready_returning = DirectUpdate(
            runtime.engine, _ready_statement(), list(_IMAGE_COLUMNS.values())
        )

    # ------------------------------------------------------------------ intake side

    async def check_room(self, owner_id: uuid.UUID) -> None:
        """Before an upload's body is read: wait until the pool would admit an image of
        ``owner_id`` (it has a free place and they hold fewer than their share), at most
        ``patience`` seconds, then MediaBusy (503). Waiting rather than refusing at once: a
        place frees up as soon as any image is done (small ones go first, see the pool), and
        a bulk upload slows down to the pace its renditions are made at."""
        if self.local:
            await self.pool.wait_for_room(owner_id, self.patience)

    async def admit(self, owner_id: uuid.UUID) -> Reservation | None:
        """Before an upload is stored: a place in this process's pool, waiting or refusing as
        :meth:`check_room` does. ``None`` when the work goes to a worker through the durable
        queue instead."""
        if not self.local:
            return None
        return await self.pool.reserve(owner_id, patience=self.patience)

    async def reserve(self, owner_id: uuid.UUID) -> Reservation | None:
        """Like :meth:`admit`, waiting as long as it takes instead of refusing."""
        return await self.pool.reserve(owner_id) if self.local else None

    async def start(
        self, image: Image, reservation: Reservation | None, *, source: Path | None = None
    ) -> None:
        """Have the renditions of the just-recorded ``image`` made. Never raises for the
        image's sake: if the job cannot be queued the row stays ``processing`` and a worker's
        sweep picks it up. ``source``: a local file with the original's bytes, used (through
        a link of its own, so the caller may delete it) instead of reading the original back
        from storage when the work is done here."""
        if self.local:
            self._spawn(image.id, reservation, _linked(source, tmp_dir(self.runtime)), image)
            return
        try:
            await queue_job(
                self.runtime,
                kind=JOB_KIND,
                owner_id=image.owner_id,
                payload={"image_id": str(image.id)},
            )
        except QueueUnavailable as exc:
            log.warning("image %s: renditions job not queued (%s); the sweep will", image.id, exc)

    async def run_now(
        self, image_id: uuid.UUID, reservation: Reservation | None, *, source: Path | None = None
    ) -> str:
        """Make the renditions in this call (``?wait=true`` in a process that makes its own):
        a fault propagates to the caller instead of waiting for the sweep. ``source`` as in
        :meth:`start`."""
        try:
            return await self.process(image_id, source=source)
        finally:
            if reservation is not None:
                reservation.release()

    def _spawn(
        self,
        image_id: uuid.UUID,
        reservation: Reservation | None,
        source: Path | None = None,
        image: Image | None = None,
    ) -> None:
        if image_id in self._tasks:
            if reservation is not None:
                reservation.release()
            if source is not None:
                source.unlink(missing_ok=True)
            return
        task = asyncio.create_task(
            self._run(image_id, reservation, source, image), name=f"renditions-{image_id}"
        )
        self._tasks[image_id] = task

    async def _run(
        self,
        image_id: uuid.UUID,
        reservation: Reservation | None,
        source: Path | None,
        image: Image | None = None,
    ) -> None:
        try:
            await self.process(image_id, source=source, image=image, drop_source=True)
        except Exception:
            # The row stays "processing"; the periodic sweep tries again.
            log.exception("image %s: renditions failed; will retry", image_id)
        finally:
            self._tasks.pop(image_id, None)
            if reservation is not None:
                reservation.release()

    async def wait(self, image_id: uuid.UUID) -> Image | None:
        """The image once it is no longer ``processing`` (or after WAIT_LIMIT, as it is)."""
        task = self._tasks.get(image_id)
        if task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), WAIT_LIMIT)
            return await self.load(image_id)
        waited = 0.0
        for attempt in range(10_000):
            image = await self.load(image_id)
            if image is None or image.status != PROCESSING or waited >= WAIT_LIMIT:
                return image
            pause = _POLL[min(attempt, len(_POLL) - 1)]
            await asyncio.sleep(pause)
            waited += pause
        return await self.load(image_id)  # pragma: no cover

    async def load(self, image_id: uuid.UUID) -> Image | None:
        """The image's row as it is now, or ``None``."""
        async with self.runtime.session_maker() as session:
            image: Image | None = await session.get(Image, image_id)
            return image

    # ------------------------------------------------------------------ the work

    async def process(
        self,
        image_id: uuid.UUID,
        *,
        source: Path | None = None,
        image: Image | None = None,
        drop_source: bool = False,
    ) -> str:
        """Make and record the renditions of a ``processing`` image. Returns the image's
        status afterwards ("missing" when it was deleted). Raises on a fault worth a retry
        (storage, a dead worker process); a refused decode marks the image failed.
        ``source``: a local file holding the original's bytes (else they are read from
        storage), removed by the time this returns with ``drop_source``. ``image``: the row
        as just recorded (an upload's), not read again."""
        handed = False  # whether the media worker took ``source`` over (and removed it)
        try:
            if image is None or image.status != PROCESSING:
                image = await self.load(image_id)
            if image is None:
                return "missing"
            if image.status != PROCESSING:
                return image.status
            storage = self.runtime.storage
            if type(storage) is LocalStorage:  # exactly: a subclass may store elsewhere
                # Never the storage's own original (what the worker reads when no source).
                drop = drop_source and source is not None
                status = await self._process_placed(image, storage, source, drop)
                handed = drop  # the worker was done with it and removed it
                return status
            return await self._process_here(image, source)
        finally:
            if drop_source and source is not None and not handed:
                source.unlink(missing_ok=True)

    async def _process_placed(
        self, image: Image, storage: LocalStorage, source: Path | None, drop_source: bool
    ) -> str:
        """:meth:`process` with the files made, placed and cleaned up in the media worker:
        the event loop only waits for its answer and records it (local storage)."""
        tmp = tmp_dir(self.runtime)
        place = LocalPlacement(storage, image.owner_id, image.sha256)
        async with _source_file(self.runtime, image, tmp, source) as original:
            try:
                placed = await self.pool.render(
                    original,
                    tmp,
                    self.runtime.core.rendition_specs,
                    place,
                    image.owner_id,
                    pixels=(image.width or 0) * (image.height or 0),
                    drop_source=drop_source,
                )
            except UnsupportedMedia as exc:
                await self._fail(image, str(exc), exc.reason)
                return FAILED
        return await self._finish(image, placed.processed, placed.renditions)

    async def _process_here(self, image: Image, source: Path | None) -> str:
        """:meth:`process` with the files stored from here (any storage)."""
        tmp = tmp_dir(self.runtime)
        async with (
            _source_file(self.runtime, image, tmp, source) as original,
            _scratch_dir(tmp) as out,
        ):
            try:
                processed = await self._render(image, original, out)
            except UnsupportedMedia as exc:
                await self._fail(image, str(exc), exc.reason)
                return FAILED
            renditions = await store_renditions(
                self.runtime, image.owner_id, image.sha256, processed
            )
        return await self._finish(image, processed, renditions)

    async def _render(self, image: Image, original: Path, out: Path) -> ProcessedMedia:
        """The whole media stack on ``original`` in the pool, its files in ``out``."""
        return await self.pool.process(
            original,
            out,
            self.runtime.core.rendition_specs,
            image.owner_id,
            pixels=(image.width or 0) * (image.height or 0),
        )

    async def _finish(
        self, image: Image, processed: ProcessedMedia, renditions: Mapping[str, Any]
    ) -> str:
        events = self.runtime.events
        listening = events.listening("image_stored")
        if self._ready.supported:
            return await self._finish_direct(image, processed, renditions, listening)
        values = {"status": READY, "error": None, **_ready_values(image, processed, renditions)}
        if values["taken_at"] is None:  # the one read from the headers at intake stays
            del values["taken_at"]
        statement = (
            update(Image)
            .where(Image.id == image.id, Image.status == PROCESSING)
            .values(**values)
            # Only this owner's cached pages are stale (salon.db.changes).
            .execution_options(
                synchronize_session=False, **{SCOPES_OPTION: (("images", str(image.owner_id)),)}
            )
        )
        if listening:  # the row as committed, for the listeners, without reading it again
            statement = statement.returning(Image)
        async with self.runtime.session_maker() as session, session.begin():
            result = await session.execute(statement)
            done = result.scalars().first() if listening else None
            changed = done is not None if listening else getattr(result, "rowcount", 0)
        if not changed:
            return await self._lost_race(image, renditions)
        if done is not None:
            events.fire("image_stored", image_event(done))
        return READY

    async def _finish_direct(
        self,
        image: Image,
        processed: ProcessedMedia,
        renditions: Mapping[str, Any],
        listening: bool,
    ) -> str:
        """:meth:`_finish` in one trip to the database's thread, no session (SQLite); with
        ``image_stored`` listeners the row as committed comes back (RETURNING) for them."""
        values = {"image_id": image.id, **_ready_values(image, processed, renditions)}
        done: Image | None = None
        if listening:
            row = await self._ready_returning.returned(values)
            done = _image_of(row) if row is not None else None
            changed = done is not None
        else:
            changed = bool(await self._ready.run(values))
        changes = self.runtime.changes
        if changes is not None:  # after the commit, as the engine's events would
            changes.bump_scoped((("images", str(image.owner_id)),))
        if not changed:
            return await self._lost_race(image, renditions)
        if done is not None:
            self.runtime.events.fire("image_stored", image_event(done))
        return READY

    async def _lost_race(self, image: Image, renditions: Mapping[str, Any]) -> str:
        """The row changed meanwhile: finished by another run, or deleted. In the latter case
        the renditions just stored belong to nobody (unless the same bytes were uploaded
        again), so they go."""
        current = await self.load(image.id)
        if current is not None:
            return current.status
        async with self.runtime.session_maker() as session:
            same_bytes = (Image.owner_id == image.owner_id) & (Image.sha256 == image.sha256)
            again = await session.scalar(select(Image.id).where(same_bytes))
        if again is None:
            for entry in renditions.values():
                with contextlib.suppress(StorageError):
                    await self.runtime.storage.delete(entry["key"])
        return "missing"

    async def _fail(self, image: Image, message: str, reason: str) -> None:
        log.info("image %s cannot be processed (%s): %s", image.id, reason, message)
        meta = {**dict(image.meta or {}), REFUSAL_META: reason}
        statement = (
            update(Image)
            .where(Image.id == image.id, Image.status == PROCESSING)
            .values(status=FAILED, error=message[:500], meta=meta, updated_at=_now())
            .execution_options(
                synchronize_session=False, **{SCOPES_OPTION: (("images", str(image.owner_id)),)}
            )
        )
        async with self.runtime.session_maker() as session, session.begin():
            await session.execute(statement)

    # ------------------------------------------------------------------ refresh

    async def missing(self, image: Image) -> list[str]:
        """The renditions a ready ``image`` should have (SALON_RENDITIONS and the stacked
        processors') that are not recorded, or not stored at their recorded size."""
        recorded = dict(image.renditions or {})
        return [
            spec.name
            for spec in self.runtime.renditions
            if spec.name not in recorded or not await intact(self.runtime, recorded[spec.name])
        ]

    async def refresh(
        self, image_id: uuid.UUID, names: Collection[str] | None = None, *, force: bool = False
    ) -> list[str]:
        """Make renditions of a ``ready`` image again, through the whole media stack, and
        record them under the core's keys: ``names``, or (``None``) the renditions the image
        lacks, or with ``force`` every one. Metadata keys the stack sets that the image lacks
        are added (those it has keep their values). Returns the names stored; when it stored
        any, ``image_updated`` fires with them. LookupError for no such image; ValueError
        for a name no processor makes or an image that is not ready (a ``processing`` one
        gets them anyway)."""
        image = await self.load(image_id)
        if image is None:
            raise LookupError(f"no image {image_id}")
        if image.status != READY:
            raise ValueError(f"image {image_id} is {image.status}, not ready")
        known = [spec.name for spec in self.runtime.renditions]
        unknown = sorted(set(names or ()) - set(known))
        if unknown:
            raise ValueError(f"no rendition named {', '.join(unknown)} (made: {', '.join(known)})")
        if names is None:
            names = known if force else await self.missing(image)
        wanted = list(names)
        if not wanted:
            return []
        tmp = tmp_dir(self.runtime)
        async with _source_file(self.runtime, image, tmp) as original, _scratch_dir(tmp) as out:
            processed = await self._render(image, original, out)
            chosen = [r for r in processed.renditions if r.name in wanted]
            stored = await store_renditions(
                self.runtime,
                image.owner_id,
                image.sha256,
                dataclasses.replace(processed, renditions=chosen),
            )
        row = await self._record(image.id, stored, processed)
        events = self.runtime.events
        if row is not None and stored and events.listening("image_updated"):
            # After the commit, as image_stored: plugins that index an image learn of what a
            # backfill (or a repair) added to one they saw before.
            events.fire("image_updated", image_event(row), renditions=list(stored))
        return list(stored)

    async def _record(
        self, image_id: uuid.UUID, stored: Mapping[str, Any], processed: ProcessedMedia
    ) -> Image | None:
        async with self.runtime.session_maker() as session, session.begin():
            row = await session.get(Image, image_id)
            if row is None:  # deleted meanwhile: its renditions go with it (image_deleted)
                return None
            row.renditions = {**dict(row.renditions or {}), **dict(stored)}
            row.placeholder = row.placeholder or processed.placeholder
            # Keys a processor added since (a stacked one's); what is there stays as it is.
            row.meta = {**dict(processed.info.metadata), **dict(row.meta or {})}
            row.updated_at = _now()
        return row

    # ------------------------------------------------------------------ repair

    async def sweep(self, older_than: float = STALE_AFTER) -> int:
        """Take up ``processing`` images untouched for ``older_than`` seconds (their worker or
        job was lost) that this process is not already working on. Returns how many."""
        if not self.local:
            return 0
        cutoff = _now() - dt.timedelta(seconds=older_than)
        query = (
            select(Image.id)
            .where(Image.status == PROCESSING, Image.updated_at <= cutoff)
            .order_by(Image.updated_at)
            .limit(1000)
        )
        async with self.runtime.session_maker() as session:
            stuck = [i for i in (await session.scalars(query)) if i not in self._tasks]
        for image_id in stuck:
            if self._stopping is not None and self._stopping.is_set():
                break
            self._spawn(image_id, await self.pool.reserve())
        if stuck:
            log.info("sweep: %d image(s) left in processing taken up", len(stuck))
        return len(stuck)

    def start_sweeper(self) -> None:
        """Sweep now for everything left in ``processing`` (this process just started), then
        every SWEEP_INTERVAL for rows older than STALE_AFTER."""
        if self.local and self._sweeper is None:
            self._stopping = asyncio.Event()
            self._sweeper = asyncio.create_task(
                self._sweep_forever(self._stopping), name="renditions-sweep"
            )

    async def _sweep_forever(self, stopping: asyncio.Event) -> None:
        older_than = 0.0
        while not stopping.is_set():
            try:
                await self.sweep(older_than)
            except Exception as exc:  # the database may be briefly away; try next time
                log.warning("renditions sweep failed: %r", exc)
            older_than = STALE_AFTER
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), SWEEP_INTERVAL)

    async def aclose(self, grace: float = 10.0) -> None:
        """Stop sweeping (a sweep under way ends normally: a task cancelled in the middle of a
        query can leave its connection unusable), give the renditions under way ``grace``
        seconds, then drop the rest (those rows stay ``processing`` for the next start's
        sweep) and stop the pool."""
        if self._stopping is not None:
            self._stopping.set()
        if self._sweeper is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sweeper
            self._sweeper = None
        tasks = list(self._tasks.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.pool.aclose()


def _ready_values(
    image: Image, processed: ProcessedMedia, renditions: Mapping[str, Any]
) -> dict[str, Any]:
    """What recording ``processed`` changes in ``image``'s row besides its status."""
    info = processed.info
    return {
        "renditions": dict(renditions),
        "placeholder": processed.placeholder,
        "width": info.width,
        "height": info.height,
        "meta": {**dict(image.meta or {}), **dict(info.metadata)},
        "updated_at": _now(),
        "taken_at": info.taken_at,
    }


# Image's attributes by the column each is stored in (a row returned by a DirectUpdate).
_IMAGE_COLUMNS = {prop.key: prop.columns[0] for prop in sa_inspect(Image).column_attrs}


def _image_of(row: Mapping[str, Any]) -> Image:
    """A detached Image holding a returned row's values (for the event's JSON)."""
    return Image(**{attr: row[str(column.key)] for attr, column in _IMAGE_COLUMNS.items()})


def _ready_statement() -> Update:
    """:meth:`RenditionService._finish`'s UPDATE with named parameters; ``taken_at`` is
    kept when the processing found none."""
    column = Image.__table__.c
    return (
        update(Image)
        .where(Image.id == bindparam("image_id", type_=column.id.type))
        .where(Image.status == PROCESSING)
        .values(
            status=READY,
            error=None,
            **{
                name: bindparam(name, type_=column[name].type)
                for name in ("renditions", "placeholder", "width", "height", "meta", "updated_at")
            },
            taken_at=func.coalesce(
                bindparam("taken_at", type_=column.taken_at.type), Image.taken_at
            ),
        )
    )


def _linked(source: Path | None, tmp: Path) -> Path | None:
    """A name of its own for ``source`` (a hard link in ``tmp``, no bytes copied), so a
    background run outlives the caller's file; ``None`` where links are not possible (the
    original is then read from storage)."""
    if source is None:
        return None
    link = tmp / f"render-{uuid.uuid4().hex}"
    try:
        os.link(source, link)
    except OSError:
        return None
    return link


@contextlib.asynccontextmanager
async def _scratch_dir(tmp: Path) -> AsyncIterator[Path]:
    """A folder of its own for one image's renditions, removed in a thread afterwards: a
    rmdir on a busy disk took milliseconds, and on the event loop every request waited."""
    out = Path(tempfile.mkdtemp(dir=tmp, prefix="renditions-"))
    try:
        yield out
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(shutil.rmtree, out, True)


@contextlib.asynccontextmanager
async def _source_file(runtime: Storage, image: Image, tmp: Path, given: Path | None = None) -> Any:
    """The original as a local file: ``given``, the storage's own file when it has one, else
    a copy."""
    if given is not None:
        yield given
        return
    if runtime.storage.capabilities.local_paths:
        path = runtime.storage.local_path(image.storage_key)
        if path is not None:
            yield path
            return
    copy = await spool(
        runtime.storage.open(image.storage_key),
        tmp,
        max(image.size, 1),
        ProviderError("the stored original is larger than recorded"),
    )
    try:
        yield copy
    finally:
        copy.unlink(missing_ok=True)
