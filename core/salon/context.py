"""``SalonContext``: the one object a plugin gets from the core, wherever the core calls it.

Like Datasette's ``datasette`` object, it is handed to every plugin-facing call: event
listeners (``image_stored(image, salon)``), ``register_commands(cli, salon)``,
``extend_app(app_config, salon)`` and the routes it adds (a ``salon: SalonContext``
parameter), and job handlers (``job.salon``). Each plugin gets its own: ``settings`` are that
plugin's, ``log`` is named after it. Everything a plugin may reach in the core goes through
here, as services, never as the core's ORM objects (images and albums are the API's JSON
forms). See docs/plugins.md, "The salon object".
"""

from __future__ import annotations

import builtins
import hashlib
import json
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from salon.providers import (
    MediaProcessor,
    StackedMediaProcessor,
    StorageBackend,
    settings_as,
)

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from sqlalchemy.ext.asyncio import AsyncConnection

    from salon.db.models import Image
    from salon.runtime import Runtime
    from salon.settings import CoreSettings

__all__ = [
    "PluginAlbums",
    "PluginImages",
    "PluginJobs",
    "PluginQueue",
    "PluginUsers",
    "SalonContext",
    "require_user",
]

T = TypeVar("T")
MAX_PAYLOAD_BYTES = 256 * 1024
PAGE_LIMIT = 1000  # the most one list call answers
QUEUED_WARNING = 10.0  # seconds a waited-for job may stay queued before that is said


class PluginQueue:
    """The job queue, for jobs of a plugin's own kinds (``register_job_handlers``)."""

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self._runtime = runtime

    async def enqueue(
        self, kind: str, payload: Mapping[str, Any], *, owner_id: uuid.UUID | str | None = None
    ) -> str:
        """Record a job of ``kind`` with the JSON-able ``payload`` and queue it; returns the
        job's id (``GET /api/jobs/{id}`` shows it to ``owner_id``). A kind no plugin handles,
        or a payload that is not a JSON object of at most 256 KiB, raises ``ValueError``;
        ``QueueUnavailable`` when the queue refused the message (then no job is left)."""
        from salon.domain.jobs.services import queue_job

        runtime = self._runtime()
        _check_job(runtime, kind, payload)
        owner = uuid.UUID(str(owner_id)) if owner_id is not None else None
        job = await queue_job(runtime, kind=kind, owner_id=owner, payload=payload)
        return str(job.id)

    def enqueue_soon(
        self, kind: str, payload: Mapping[str, Any], *, owner_id: uuid.UUID | str | None = None
    ) -> None:
        """:meth:`enqueue` from a plain function running on the event loop (an event
        listener): the kind and payload are checked now (``ValueError``), the job is queued
        in a task started here; a failure to queue is logged on the plugin's logger."""
        runtime = self._runtime()
        _check_job(runtime, kind, payload)
        start_soon(self.enqueue(kind, payload, owner_id=owner_id), _log, "queueing a job")


_PENDING: set[Any] = set()
_log = logging.getLogger("salon.context")


def start_soon(work: Coroutine[Any, Any, Any], log: logging.Logger, what: str) -> None:
    """Run ``work`` in a task on the running loop, held until done (the loop keeps only a
    weak reference to tasks); its failure is logged on ``log``, naming ``what``."""
    import asyncio

    task = asyncio.get_running_loop().create_task(work)
    _PENDING.add(task)

    def finished(done: asyncio.Task[Any]) -> None:
        _PENDING.discard(done)
        if not done.cancelled() and (error := done.exception()) is not None:
            log.error("%s started from a listener failed: %r", what, error, exc_info=error)

    task.add_done_callback(finished)


def _check_job(runtime: Runtime, kind: str, payload: Mapping[str, Any]) -> None:
    if kind not in runtime.job_handlers:
        known = ", ".join(sorted(runtime.job_handlers)) or "none"
        raise ValueError(f"no job handler for kind {kind!r} (registered: {known})")
    try:
        encoded = json.dumps(dict(payload))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"a job payload must be a JSON object: {exc}") from None
    if len(encoded) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a job payload may be at most {MAX_PAYLOAD_BYTES} bytes")


class PluginImages:
    """Read and add images, through the core's image service. An image is the API's JSON form
    (``id``, ``title``, ``status``, ``urls``, ...) plus ``owner_id``, as events carry it."""

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self._runtime = runtime

    async def get(
        self,
        image_id: uuid.UUID | str,
        *,
        owner_id: uuid.UUID | str | None = None,
        include_trashed: bool = False,
    ) -> dict[str, Any] | None:
        """The image, or ``None`` when there is none (or, given ``owner_id``, not theirs). An
        image in the trash is ``None`` too, as ``list`` leaves it out, unless
        ``include_trashed`` (then its ``trashed_at`` is set)."""
        image = await self._row(image_id, owner_id, include_trashed)
        if image is None:
            return None
        event: dict[str, Any] = self._runtime().services.images.event(image)
        return event

    async def _row(
        self, image_id: uuid.UUID | str, owner_id: uuid.UUID | str | None, include_trashed: bool
    ) -> Image | None:
        from salon.db.models import Image

        wanted = _uuid(image_id)
        if wanted is None:
            return None
        async with self._runtime().session_maker() as session:
            image = await session.get(Image, wanted)
        if image is None or (owner_id is not None and str(image.owner_id) != str(owner_id)):
            return None
        if image.trashed_at is not None and not include_trashed:
            return None
        return image

    async def open(
        self,
        image_id: uuid.UUID | str,
        *,
        rendition: str | None = None,
        owner_id: uuid.UUID | str | None = None,
        include_trashed: bool = False,
        chunk_size: int = 1 << 16,
    ) -> AsyncIterator[bytes]:
        """The bytes of the image's original (``rendition=None``) or of its rendition of
        that name (``"lg"``, ...), in chunks of at most ``chunk_size``, read through the
        storage backend: ``async for chunk in salon.images.open(id, rendition="lg")``.
        ``ObjectNotFound`` (``salon.errors``) before the first chunk when there is no such
        image (as :meth:`get` says), no such rendition (yet), or its bytes are gone."""
        from salon.errors import ObjectNotFound

        image = await self._row(image_id, owner_id, include_trashed)
        if image is None:
            raise ObjectNotFound(f"no image {image_id}")
        if rendition is None:
            key = image.storage_key
        else:
            entry = dict(image.renditions or {}).get(rendition)
            if entry is None:
                made = ", ".join(sorted(image.renditions or {})) or "none yet"
                raise ObjectNotFound(f"image {image_id} has no rendition {rendition!r} ({made})")
            key = entry["key"]
        async for chunk in self._runtime().storage.open(key, chunk_size=chunk_size):
            yield chunk

    async def read_bytes(
        self,
        image_id: uuid.UUID | str,
        *,
        rendition: str | None = None,
        owner_id: uuid.UUID | str | None = None,
        include_trashed: bool = False,
    ) -> bytes:
        """All of :meth:`open`'s bytes at once (keep to renditions and modest originals:
        an original may be up to ``salon.core.max_upload_bytes``)."""
        chunks = self.open(
            image_id, rendition=rendition, owner_id=owner_id, include_trashed=include_trashed
        )
        return b"".join([chunk async for chunk in chunks])

    async def refresh_renditions(
        self,
        image_id: uuid.UUID | str,
        names: Sequence[str] | None = None,
        *,
        force: bool = False,
    ) -> builtins.list[str]:
        """Make renditions of a ``ready`` image now, through the whole media stack
        (``SALON_MEDIA``), stored and recorded under the core's own keys as an upload's are
        (``salon doctor`` counts them; deleting the image deletes them): the ones it lacks
        (``names=None``: say, those of a processor stacked after it was uploaded; with
        nothing missing nothing runs), every one again with ``force=True``, or ``names``
        again. Metadata keys the stack sets that the image lacks are added. Returns the
        names stored; when any, the ``image_updated`` event fires with them. CPU heavy:
        call it from a job (or queue the core's job ``image.renditions`` with
        ``{"image_id": ..., "names": [...]}``). ``LookupError`` for no such image;
        ``ValueError`` for a name no processor makes or an image that is not ready."""
        wanted = _uuid(image_id)
        if wanted is None:
            raise LookupError(f"no image {image_id}")
        renditions = self._runtime().services.renditions
        return await renditions.refresh(wanted, names, force=force)

    async def iterate(
        self, owner_id: uuid.UUID | str, *, batch: int = 500
    ) -> AsyncIterator[dict[str, Any]]:
        """Every image of the owner outside the trash, however many, newest first (by id),
        read ``batch`` at a time: ``async for image in salon.images.iterate(owner_id)``."""
        from salon.db.models import Image

        owner = uuid.UUID(str(owner_id))
        images = self._runtime().services.images
        async for row in _keyset(
            self._runtime,
            Image,
            [Image.owner_id == owner, Image.trashed_at.is_(None)],
            batch,
        ):
            yield images.event(row)

    async def list(
        self, owner_id: uuid.UUID | str, *, limit: int = 100
    ) -> builtins.list[dict[str, Any]]:
        """The owner's images outside the trash, newest first, at most ``limit`` (<= 1000);
        for all of them, however many, use :meth:`iterate`."""
        from sqlalchemy import select

        from salon.db.models import Image

        runtime = self._runtime()
        query = (
            select(Image)
            .where(Image.owner_id == uuid.UUID(str(owner_id)), Image.trashed_at.is_(None))
            .order_by(Image.created_at.desc(), Image.id.desc())
            .limit(max(1, min(limit, PAGE_LIMIT)))
        )
        async with runtime.session_maker() as session:
            rows = (await session.execute(query)).scalars().all()
        images = runtime.services.images
        return [images.event(row) for row in rows]

    async def create(
        self,
        owner_id: uuid.UUID | str,
        data: bytes,
        *,
        title: str = "",
        filename: str = "",
        album_id: uuid.UUID | str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store ``data`` as the owner's image, as an upload would (quota, deduplication by
        content: the same bytes again answer the existing image). Its renditions follow as
        for an upload (``status`` is ``processing`` until then, and ``image_stored`` fires).
        Raises ``UnsupportedMedia`` / ``MediaTooLarge`` for what the media processor refuses,
        ``LookupError`` for an album that is not the owner's."""
        from salon.domain.images.services import IngestRequest, tmp_dir

        runtime = self._runtime()
        if len(data) > runtime.core.max_upload_bytes:
            from salon.errors import MediaTooLarge

            raise MediaTooLarge(f"an image may be at most {runtime.core.max_upload_bytes} bytes")
        with tempfile.NamedTemporaryFile(dir=tmp_dir(runtime), prefix="plugin-") as handle:
            handle.write(data)
            handle.flush()
            request = IngestRequest(
                owner_id=uuid.UUID(str(owner_id)),
                path=Path(handle.name),
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                title=title,
                filename=filename,
                album_id=uuid.UUID(str(album_id)) if album_id is not None else None,
                meta=dict(metadata or {}),
            )
            image, _created = await runtime.services.images.ingest(request, wait=False)
        event: dict[str, Any] = runtime.services.images.event(image)
        return event


class PluginAlbums:
    """Read and create albums. An album is ``{"id", "name", "owner_id", "created_at"}``."""

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self._runtime = runtime

    async def get(
        self, album_id: uuid.UUID | str, *, owner_id: uuid.UUID | str
    ) -> dict[str, Any] | None:
        """The owner's album, or ``None``."""
        from salon.db.models import Album

        wanted = _uuid(album_id)
        if wanted is None:
            return None
        async with self._runtime().session_maker() as session:
            album = await session.get(Album, wanted)
        if album is None or str(album.owner_id) != str(owner_id):
            return None
        return _album(album)

    async def list(self, owner_id: uuid.UUID | str) -> builtins.list[dict[str, Any]]:
        """The owner's albums, by name."""
        from sqlalchemy import select

        from salon.db.models import Album

        query = select(Album).where(Album.owner_id == uuid.UUID(str(owner_id)))
        async with self._runtime().session_maker() as session:
            rows = (await session.execute(query.order_by(Album.name))).scalars().all()
        return [_album(row) for row in rows]

    async def create(self, owner_id: uuid.UUID | str, name: str) -> dict[str, Any]:
        """A new album, or the owner's album of that name if there is one."""
        from salon.domain.albums.services import clean_name, get_or_create

        async with self._runtime().session_maker() as session:
            album = await get_or_create(session, uuid.UUID(str(owner_id)), clean_name(name))
            return _album(album)

    async def add_images(
        self,
        album_id: uuid.UUID | str,
        image_ids: Sequence[uuid.UUID | str],
        *,
        owner_id: uuid.UUID | str,
    ) -> int:
        """File the owner's images in the owner's album; returns how many were added.
        ``LookupError`` when the album or an image is not the owner's."""
        from salon.domain.albums.services import add_images, owned

        ids = [uuid.UUID(str(i)) for i in image_ids]
        async with self._runtime().session_maker() as session:
            album = await owned(session, uuid.UUID(str(owner_id)), uuid.UUID(str(album_id)))
            return await add_images(session, album, ids)


async def _keyset(
    runtime: Callable[[], Runtime], model: Any, where: builtins.list[Any], batch: int
) -> AsyncIterator[Any]:
    """Rows of ``model`` matching ``where``, newest id first, read ``batch`` at a time by
    keyset (ids are UUIDv7, so in creation order): no offset, no row seen twice."""
    from sqlalchemy import select

    size = max(1, min(batch, PAGE_LIMIT))
    last: uuid.UUID | None = None
    while True:
        query = select(model).where(*where).order_by(model.id.desc()).limit(size)
        if last is not None:
            query = query.where(model.id < last)
        async with runtime().session_maker() as session:
            rows = (await session.execute(query)).scalars().all()
        for row in rows:
            yield row
        if len(rows) < size:
            return
        last = rows[-1].id


class PluginUsers:
    """Read the gallery's users (never their credentials). A user is
    ``{"id", "email", "provider", "created_at"}``; ``id`` is the ``owner_id`` of their
    images."""

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self._runtime = runtime

    async def get(self, user_id: uuid.UUID | str) -> dict[str, Any] | None:
        """The user, or ``None``."""
        from salon.db.models import User

        wanted = _uuid(user_id)
        if wanted is None:
            return None
        async with self._runtime().session_maker() as session:
            user = await session.get(User, wanted)
        return _user(user) if user is not None else None

    async def by_email(self, email: str) -> dict[str, Any] | None:
        """The user with that e-mail address (case ignored), or ``None``. Should several
        sign in with it (through different providers), the configured auth provider's
        (``SALON_AUTH``) comes first, then the oldest."""
        from sqlalchemy import case, func, select

        from salon.db.models import User

        runtime = self._runtime()
        query = (
            select(User)
            .where(func.lower(User.email) == email.strip().lower())
            .order_by(case((User.provider == runtime.core.auth, 0), else_=1), User.id)
            .limit(1)
        )
        async with runtime.session_maker() as session:
            user = (await session.execute(query)).scalars().first()
        return _user(user) if user is not None else None

    async def list(
        self, *, after: uuid.UUID | str | None = None, limit: int = 100
    ) -> builtins.list[dict[str, Any]]:
        """A page of users in id order (oldest first), at most ``limit`` (<= 1000): pass the
        last one's ``id`` as ``after`` for the next page; an empty list after the last."""
        from sqlalchemy import select

        from salon.db.models import User

        query = select(User).order_by(User.id).limit(max(1, min(limit, PAGE_LIMIT)))
        if after is not None:
            query = query.where(User.id > uuid.UUID(str(after)))
        async with self._runtime().session_maker() as session:
            rows = (await session.execute(query)).scalars().all()
        return [_user(row) for row in rows]

    async def iterate(self, *, batch: int = 500) -> AsyncIterator[dict[str, Any]]:
        """Every user, in :meth:`list`'s order (id order, oldest first), read ``batch`` at a
        time: ``async for user in salon.users.iterate()``."""
        size = max(1, min(batch, PAGE_LIMIT))
        after: str | None = None
        while True:
            page = await self.list(after=after, limit=size)
            for user in page:
                yield user
            if len(page) < size:
                return
            after = page[-1]["id"]


class PluginJobs:
    """Read jobs by id, whoever queued them (``GET /api/jobs/{id}`` answers only the job's
    owner). A job is ``{"id", "kind", "status", "progress", "result", "error", "owner_id",
    "created_at"}``; ``status`` is ``queued``, ``running``, ``succeeded``, ``failed`` or
    ``cancelled``."""

    def __init__(self, runtime: Callable[[], Runtime]) -> None:
        self._runtime = runtime

    async def get(self, job_id: uuid.UUID | str) -> dict[str, Any] | None:
        """The job, or ``None`` for an unknown id."""
        from salon.domain.jobs.services import load_job

        job = await load_job(self._runtime().session_maker, str(job_id))
        if job is None:
            return None
        return {
            "id": str(job.id),
            "kind": job.kind,
            "status": job.status,
            "progress": round(job.progress, 4),
            "result": job.result,
            "error": job.error,
            "owner_id": str(job.owner_id) if job.owner_id is not None else None,
            "created_at": job.created_at.isoformat(),
        }

    async def wait(
        self,
        job_id: uuid.UUID | str,
        *,
        seconds: float | None = None,
        interval: float = 0.5,
        progress: Callable[[float], object] | None = None,
        queued_warning: float | None = QUEUED_WARNING,
        on_queued: Callable[[str], object] | None = None,
    ) -> dict[str, Any]:
        """The job once it has finished (succeeded, failed or been cancelled), asked every
        ``interval`` seconds; ``progress(fraction)`` is called as its progress moves.
        ``TimeoutError`` after ``seconds`` (the timeout; ``None``: no limit), ``LookupError``
        for an unknown id.
        Someone must run jobs meanwhile: ``salon serve`` (its in-process worker) or ``salon
        worker``; a command alone runs none. So when the job is still ``queued`` after
        ``queued_warning`` seconds of waiting (``None``: never), that is said once:
        ``on_queued(message)`` (a command echoes it), else a warning on the ``salon.jobs``
        logger."""
        import asyncio

        from salon.domain.jobs.services import FINISHED

        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = None if seconds is None else started + seconds
        seen, warned = -1.0, queued_warning is None
        while True:
            job = await self.get(job_id)
            if job is None:
                raise LookupError(f"no job {job_id}")
            if progress is not None and job["progress"] != seen:
                seen = job["progress"]
                progress(seen)
            if job["status"] in FINISHED:
                return job
            waited = loop.time() - started
            if not warned and job["status"] == "queued" and waited >= (queued_warning or 0):
                warned = True
                _say_queued(job_id, waited, on_queued)
            if deadline is not None and loop.time() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']} after {seconds} s")
            await asyncio.sleep(interval)


def _say_queued(
    job_id: uuid.UUID | str, waited: float, on_queued: Callable[[str], object] | None
) -> None:
    message = f"job {job_id} queued for {waited:.0f} s: is `salon serve` or `salon worker` running?"
    if on_queued is not None:
        on_queued(message)
    else:
        logging.getLogger("salon.jobs").warning("%s", message)


def _user(user: Any) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "provider": user.provider,
        "created_at": user.created_at.isoformat(),
    }


def _uuid(value: uuid.UUID | str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _album(album: Any) -> dict[str, Any]:
    return {
        "id": str(album.id),
        "name": album.name,
        "owner_id": str(album.owner_id),
        "created_at": album.created_at.isoformat(),
    }


class SalonContext:
    """What one plugin may reach in the running gallery. See docs/plugins.md.

    Built by the core (never construct one); the same object for a plugin within a process.
    In a command (``register_commands``) nothing is opened until used: run async work with
    :meth:`run`, which opens the database and providers and closes them afterwards.
    """

    def __init__(self, plugin: str, runtime: Callable[[], Runtime]) -> None:
        self.plugin = plugin
        """The plugin's name (its entry point's name, or a built-in's module path)."""
        self.log = logging.getLogger(f"salon.plugin.{plugin}")
        """A logger named ``salon.plugin.<plugin name>``, with the core's log format."""
        self._runtime = runtime
        self.queue = PluginQueue(runtime)
        """The job queue: ``await salon.queue.enqueue(kind, payload, owner_id=...)``."""
        self.images = PluginImages(runtime)
        """Images: ``get``, ``list``, ``iterate``, ``create``, ``open``, ``read_bytes``,
        ``refresh_renditions``."""
        self.albums = PluginAlbums(runtime)
        """Albums: ``get``, ``list``, ``create``, ``add_images``."""
        self.users = PluginUsers(runtime)
        """Users, read-only: ``get``, ``by_email``, ``list``, ``iterate``."""
        self.jobs = PluginJobs(runtime)
        """Jobs by id, read-only: ``get``, ``wait``."""

    @property
    def settings(self) -> Any:
        """The plugin's parsed settings (its ``register_settings`` type), or ``None``."""
        from salon.runtime import plugin_settings

        return plugin_settings(self._runtime(), self.plugin)

    def settings_as(self, settings_type: type[T]) -> T:
        """``settings``, checked to be a ``settings_type`` (typed for mypy); all defaults
        when nothing was set. ``TypeError`` when the plugin registered another type."""
        return settings_as(self.settings, settings_type, f"plugin {self.plugin}")

    @property
    def core(self) -> CoreSettings:
        """The core settings (``max_upload_bytes``, ``public_url``, ...), read-only."""
        return self._runtime().core

    @property
    def data_dir(self) -> Path:
        """The gallery's data folder (``SALON_DATA_DIR``); keep your files in a subfolder."""
        return self._runtime().core.data_dir

    @property
    def storage(self) -> StorageBackend:
        """The selected storage backend (``SALON_STORAGE``). The core's keys are its own
        (read images with ``images.open``); keep the plugin's objects under
        :attr:`storage_prefix`."""
        return self._runtime().storage

    @property
    def storage_prefix(self) -> str:
        """``"<plugin name>/"``: the plugin's own keys in :attr:`storage` start with it.
        ``salon doctor`` neither counts nor deletes them; deleting them is the plugin's."""
        return f"{self.plugin}/"

    @property
    def media(self) -> MediaProcessor:
        """The media processor the core runs (``SALON_MEDIA``), as one ``MediaProcessor``:
        with one processor selected, that one; with several, the stack of them (the first
        decodes, each next one adds). CPU bound: call it in a thread. Which processors are
        selected: :attr:`media_processors`."""
        return self._runtime().media

    @property
    def media_processors(self) -> tuple[tuple[str, MediaProcessor | StackedMediaProcessor], ...]:
        """The processors ``SALON_MEDIA`` selected, ``(name, processor)`` in order: the
        first decodes uploads, each next one is a stacked processor. A processor of yours
        is selected when its name is here: ``dict(salon.media_processors).get("mine")``."""
        return self._runtime().media_processors

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """``async with salon.connect() as conn``: a SQLAlchemy ``AsyncConnection`` to the
        core database, for the plugin's own tables (see "Plugin tables"); commit yourself."""
        return self._runtime().engine.connect()

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """``async with salon.transaction() as conn``: a connection in a transaction that
        commits when the block ends (rolls back if it raises)."""
        return self._runtime().engine.begin()

    def run_soon(self, work: Coroutine[Any, Any, Any]) -> None:
        """From a plain function on the event loop (an event listener): run the coroutine
        ``work`` in a task started here, once the listener has returned, e.g.
        ``salon.run_soon(forget_notes(image["id"]))``. Best effort: not retried, and lost
        if the process stops first; an exception is logged on :attr:`log`. Work that must
        happen, or that is slow, is a job (``salon.queue.enqueue_soon``)."""
        start_soon(work, self.log, f"plugin {self.plugin}'s run_soon work")

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """In a command: run ``await work()`` on a fresh event loop with the gallery open,
        close everything afterwards and return its result. Not for use inside an event
        loop (listeners, routes and jobs are already in one: just ``await``)."""
        import asyncio

        runtime = self._runtime()

        async def main() -> T:
            try:
                return await work()
            finally:
                await runtime.close()
                _forget(self)

        return asyncio.run(main())

    def __repr__(self) -> str:
        return f"SalonContext(plugin={self.plugin!r})"


def _forget(context: SalonContext) -> None:
    """A command's runtime is closed after ``run``: open a new one if used again."""
    reset = getattr(context._runtime, "reset", None)
    if reset is not None:
        reset()


class LazyRuntime:
    """For commands: the runtime is built the first time a command uses ``salon``."""

    def __init__(self, build: Callable[[], Runtime]) -> None:
        self._build = build
        self._runtime: Runtime | None = None

    def __call__(self) -> Runtime:
        if self._runtime is None:
            self._runtime = self._build()
        return self._runtime

    def reset(self) -> None:
        self._runtime = None


def plugin_context(runtime: Runtime, plugin: str) -> SalonContext:
    """The plugin's context in this runtime (one per plugin, built on first use)."""
    context = runtime.contexts.get(plugin)
    if context is None:
        context = runtime.contexts[plugin] = SalonContext(plugin, lambda: runtime)
    return context


async def require_user(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    """A Litestar guard for plugin routes: ``@get(..., guards=[require_user])`` answers 401
    (with the ``WWW-Authenticate`` challenges) unless a user is signed in, before the body is
    read. The route then takes ``current_user: SignedInUser`` to know who (already resolved,
    no second check)."""
    from litestar import Request

    from salon.domain.deps import provide_current_user

    if isinstance(connection, Request):
        await provide_current_user(connection)


def salon_argument(runtime: Runtime) -> Callable[[str], dict[str, SalonContext]]:
    """``per_plugin`` for :func:`salon.plugins.notify` / ``call_each``: each plugin's
    implementation may name ``salon`` and gets its own context."""
    return lambda plugin: {"salon": plugin_context(runtime, plugin)}


def handler_context(runtime: Runtime, kind: str) -> SalonContext:
    """The context a job of ``kind`` runs with: its handler's plugin's."""
    offer = runtime.registry.job_handlers.get(kind)
    return plugin_context(runtime, offer.plugin if offer is not None else "salon")
