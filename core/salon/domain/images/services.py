"""Images: ingest (the one path every upload, import and source takes), listing, serving.

Data rules kept here: an image is recorded only when its original is stored and its headers
say it is an image Salon accepts; a failure leaves neither a row nor an object; the same bytes
from one owner are stored once. Renditions follow off the request (``processing``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from typing import cast as cast_type

import anyio
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from salon import metrics
from salon.db.models import AlbumImage, Image
from salon.domain.admission import owner_turn
from salon.domain.images.cursor import TAKEN, UPLOADED, decode_cursor, encode_cursor
from salon.domain.images.intake import (
    IntakeSource,
    file_chunks,
    hash_file,
    local_bytes,
    spool,
    tmp_dir,
)
from salon.domain.images.keys import original_key, rendition_key
from salon.domain.images.processing import (
    FAILED,
    PROCESSING,
    REFUSAL_META,
    RenditionService,
)
from salon.domain.images.quota import STORAGE_TURN, check_usage
from salon.domain.images.recording import insert_image, standing
from salon.domain.images.schemas import MAX_DESCRIPTION, MAX_TITLE, image_event
from salon.domain.images.search import ImageSearch, in_utc, search_conditions
from salon.domain.ports import ImagePorts
from salon.errors import ObjectNotFound, UnsupportedMedia, media_refusal
from salon.providers import (
    CopyingStorage,
    MediaInfo,
    MediaProbe,
    MovingStorage,
    RenditionSpec,
)
from salon.text import clean_text, offset_name

# A turn to take one upload in (UploadSlots.intake for its user); see ImageService.ingest.
IntakeTurn = Callable[[], AbstractAsyncContextManager[None]]

log = logging.getLogger("salon.images")

TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
READ_CHUNK = 1 << 20


class NotFound(LookupError):
    """Not there or not yours: the API answers both with the same 404."""


@dataclass(slots=True)
class IngestItem:
    """What is known about an image coming in besides its bytes;
    :meth:`ImageService.ingest_from` takes it with the bytes' source."""

    owner_id: uuid.UUID
    claimed_type: str = ""
    title: str = ""
    album_id: uuid.UUID | None = None
    # What the caller knows about the image (an image source's metadata); the media
    # processor's keys and ``filename`` win over it.
    meta: Mapping[str, Any] = field(default_factory=dict)
    # The name the file had on the client: kept in meta (downloads use it) and, when no title
    # is given, the title without its extension.
    filename: str = ""
    # A direct upload being completed: its own announced size is not counted twice (quota).
    intent_id: uuid.UUID | None = None


@dataclass(slots=True, kw_only=True)
class IngestRequest(IngestItem):
    """An :class:`IngestItem` with its bytes in a local file (:meth:`ImageService.ingest`)."""

    path: Path
    size: int
    sha256: str
    # The same bytes already in storage under this key, which only the server writes: the
    # original is then a storage-side copy (``CopyingStorage``) instead of a second upload.
    stored_key: str | None = None
    # ``path`` is a temporary file of the intake's: on storage that takes files
    # (``MovingStorage``) it becomes the original, no byte copied, and is gone afterwards.
    movable: bool = False


MAX_FILENAME = 255


def clean_title(text: str) -> str:
    """A title as shown: line breaks and tabs become spaces; other control characters and
    bidirectional overrides/isolates are dropped; then trimmed and bounded."""
    return clean_text(text)[:MAX_TITLE]


def clean_description(text: str) -> str:
    """A description as shown: like :func:`clean_title`, but line breaks stay (as ``\\n``)."""
    text = text.replace("\r\n", "\n")
    return clean_text(text, keep_lines=True)[:MAX_DESCRIPTION]


def image_title(title: str, filename: str) -> str:
    """The one title rule for every way in: the given title, cleaned (:func:`clean_title`);
    else the file name without its extension ("beach.jpg" -> "beach"; ".jpg" stays ".jpg")."""
    given = clean_title(title)
    if given:
        return given
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return clean_title(Path(name).stem or name)


sha256_file = hash_file


def download_name(image: Image) -> str:
    """The name a download is saved under: the file's name on the client when it was uploaded,
    else the title (or id) with the extension of the stored type."""
    meta = image.meta or {}
    filename = meta.get("filename")
    if isinstance(filename, str):
        # Some clients send the whole client-side path; keep the last part only.
        name = clean_text(filename.replace("\\", "/").rsplit("/", 1)[-1])
        if name:
            return name
    extension = "jpg" if image.content_type == "image/jpeg" else image.content_type.split("/")[-1]
    stem = image.title.strip().replace("/", "_") or str(image.id)
    return f"{stem[:200]}.{extension}"


def _filename_meta(request: IngestRequest) -> dict[str, str]:
    # Cleaned as titles are: U+202E in "photo\u202egpj.exe" shows as "photoexe.jpg".
    name = clean_text(request.filename)[:MAX_FILENAME]
    return {"filename": name} if name else {}


class ImageService:
    """Operations on images that span storage, media processing and the database."""

    def __init__(self, runtime: ImagePorts, renditions: RenditionService) -> None:
        self.runtime = runtime
        self.renditions = renditions

    async def ingest_from(
        self,
        source: IntakeSource,
        item: IngestItem,
        *,
        wait: bool = True,
        refuse_when_busy: bool = False,
        turn: IntakeTurn | None = None,
    ) -> tuple[Image, bool]:
        """The one intake (issue 19.3): the bytes of ``source`` are read once into a local file
        (see ``salon.domain.images.intake``), hashed on the way, then :meth:`ingest`. Raises
        UnsupportedMedia for no bytes at all, and what :meth:`ingest` and the source raise."""
        tmp = tmp_dir(self.runtime)
        async with local_bytes(source, self.runtime.storage, tmp) as local:
            if local.size == 0:
                raise UnsupportedMedia("the file is empty", "empty")
            known = {f.name: getattr(item, f.name) for f in fields(IngestItem)}
            request = IngestRequest(
                **known,
                path=local.path,
                size=local.size,
                sha256=local.sha256,
                stored_key=local.stored_key,
                movable=local.spooled,
            )
            return await self.ingest(
                request, wait=wait, refuse_when_busy=refuse_when_busy, turn=turn
            )

    async def ingest(
        self,
        request: IngestRequest,
        *,
        wait: bool = True,
        refuse_when_busy: bool = False,
        turn: IntakeTurn | None = None,
    ) -> tuple[Image, bool]:
        """Store and record an image; returns (image, created). Duplicates return the existing
        image. Raises UnsupportedMedia, NotFound (album), StorageError, or MediaBusy (only with
        ``refuse_when_busy``: when no place frees up for a while; else it waits as long as it
        takes); leaves nothing behind.

        The image is recorded ``processing`` once its original is stored (its type and shape
        come from the headers); the renditions follow off this call (see
        ``salon.domain.images.processing``). With ``wait`` the image is returned once they are
        made, and bytes the full decode refuses are removed again and raise UnsupportedMedia,
        as if the upload had been refused at once. ``turn``: the intake turn (see
        ``salon.domain.bodies.UploadSlots``) held while the original is stored and recorded,
        after the wait for a media place and before any rendition work or wait."""
        existing = await self._checked(request)
        if existing is not None:
            return existing, False
        started = time.monotonic()
        renditions = self.renditions
        owner = request.owner_id
        admitting = renditions.admit(owner) if refuse_when_busy else renditions.reserve(owner)
        reservation = await admitting
        try:
            async with turn() if turn is not None else contextlib.nullcontext():
                info = await self._probe(request)
                image, created = await self._store(request, info)
        except BaseException:
            if reservation is not None:
                reservation.release()
            raise
        if not created:
            if reservation is not None:
                reservation.release()
            if image.status == FAILED:  # recorded by a parallel upload of the same bytes
                raise _refusal_of(image)
            return image, False
        # The bytes are here already: made from this file, the renditions need not download
        # the original again (storage without local files, such as S3).
        storage = self.runtime.storage
        moved = request.movable and isinstance(storage, MovingStorage)  # request.path is gone
        source = None if storage.capabilities.local_paths or moved else request.path
        if wait and renditions.local:
            try:
                await renditions.run_now(image.id, reservation, source=source)
            except Exception:
                # As before renditions were deferred: a fault refuses the upload whole.
                await self._forget(image)
                raise
        else:
            await renditions.start(image, reservation, source=source)
        if wait:
            image = await self._wait(image)
            # The whole ingest of a new image: original stored, renditions made, row ready.
            metrics.INGEST_SECONDS.observe(time.monotonic() - started)
        return image, True

    async def _checked(self, request: IngestRequest) -> Image | None:
        """The checks before the bytes are stored, in one statement (``recording``): the
        album is the owner's (else NotFound), and the owner's image with these bytes is
        returned, brought back from the trash (an upload the user cannot see would look
        lost) and put in the album; else the quota must hold the file (QuotaExceeded)."""
        quota = self.runtime.core.storage_quota_bytes
        async with self.runtime.session_maker() as session:
            found = await standing(
                await session.connection(),
                request.owner_id,
                request.sha256,
                request.album_id,
                with_usage=quota > 0,
                exclude_intent=request.intent_id,
            )
            if request.album_id is not None and found.album_owner != request.owner_id:
                raise NotFound("album not found")
            if found.existing is None:
                check_usage(found.used_bytes, request.size, quota)
                return None
            existing = await session.get(Image, found.existing)
            if existing is None:  # deleted since: this upload records the bytes anew
                return None
            if existing.status == FAILED:
                # The same bytes get the same refusal, not "already in your library": the
                # failed image stays as it was (the owner sees it and may delete it).
                raise _refusal_of(existing)
            existing.trashed_at = None
            await self._add_to_album(session, request.album_id, [existing.id])
            await session.commit()
            return existing

    async def _probe(self, request: IngestRequest) -> MediaInfo:
        """The type and shape from the headers (cheap, in a thread). The bytes decide: a
        declared type is only a client's guess (browsers send ``image/apng`` for PNGs, or a
        type made up from the file name), so it is not compared. A processor without ``probe``
        is trusted with the claimed type until its ``process`` runs."""
        media = self.runtime.media
        if isinstance(media, MediaProbe):
            return await anyio.to_thread.run_sync(media.probe, request.path)
        claimed = request.claimed_type.lower().strip()
        claimed = TYPE_ALIASES.get(claimed, claimed)
        if claimed not in media.content_types:
            accepted = ", ".join(sorted(media.content_types))
            raise UnsupportedMedia(
                f"{claimed or 'this type'} is not accepted; send one of {accepted}"
            )
        return MediaInfo(content_type=claimed, width=0, height=0)

    async def _forget(self, image: Image) -> None:
        """Remove an image whose renditions could not be made, with every object its bytes
        may have left (the rendition keys follow from the bytes, stored or not)."""
        with anyio.CancelScope(shield=True):
            try:
                async with self.runtime.session_maker() as session:
                    row = await session.get(Image, image.id)
                    if row is not None:
                        await session.delete(row)
                        await session.commit()
            except Exception:
                # The database is away too: the row stays "processing", the sweep makes its
                # renditions later, so its objects stay as well.
                log.exception("could not remove image %s after a failed upload", image.id)
                return
            keys = [image.storage_key] + [
                rendition_key(image.owner_id, image.sha256, spec.name, spec.format.lower())
                for spec in self.runtime.renditions
            ]
            for key in keys:
                try:
                    await self.runtime.storage.delete(key)
                except Exception:
                    log.exception("could not remove %s after a failed upload", key)

    async def _wait(self, image: Image) -> Image:
        done = await self.renditions.wait(image.id)
        if done is None:
            raise NotFound("the image was deleted while its renditions were made")
        if done.status == FAILED:
            async with self.runtime.session_maker() as session:
                row = await session.get(Image, image.id)
                if row is not None:
                    await self.delete(session, row)
            raise _refusal_of(done)
        return done

    async def _store(self, request: IngestRequest, info: MediaInfo) -> tuple[Image, bool]:
        """Store the original and record the image as ``processing``."""
        storage = self.runtime.storage
        stored: list[str] = []
        try:
            key = original_key(request.owner_id, request.sha256)
            if request.stored_key is not None and isinstance(storage, CopyingStorage):
                await storage.copy(request.stored_key, key, content_type=info.content_type)
            elif request.movable and isinstance(storage, MovingStorage):
                await storage.move_files([(key, request.path, info.content_type)])
            else:
                await storage.put(key, file_chunks(request.path), content_type=info.content_type)
            stored.append(key)
            now = utcnow()
            image = Image(
                id=uuid7(),
                created_at=now,
                updated_at=now,
                owner_id=request.owner_id,
                title=image_title(request.title, request.filename),
                content_type=info.content_type,
                size=request.size,
                width=info.width,
                height=info.height,
                sha256=request.sha256,
                storage_key=key,
                taken_at=info.taken_at,
                placeholder=None,
                renditions={},
                # What the file itself says (the processor's ``format``...) wins over what
                # the caller (an image source) says about it.
                meta={**dict(request.meta), **dict(info.metadata), **_filename_meta(request)},
                status=PROCESSING,
                # Written as they are (``recording``): the ORM's column defaults do not apply.
                favorite=False,
                error=None,
                trashed_at=None,
            )
            existing = await self._record(request, image)
            if existing is not None:
                return existing, False
        except IntegrityError:
            # The same bytes won a race from another request: same keys, same content.
            async with self.runtime.session_maker() as session:
                existing = await self._by_sha(session, request.owner_id, request.sha256)
                if existing is None:
                    raise
                return existing, False
        except BaseException:
            await self._discard(request, stored)
            raise
        return image, True

    async def _record(self, request: IngestRequest, image: Image) -> Image | None:
        """Write ``image`` once the quota still holds it, counted again in the owner's storage
        turn (:mod:`salon.domain.admission`): parallel uploads all passed the count made
        before their bytes were stored (attack report 3: four 1 MB files against 3 MB). The
        same bytes recorded meanwhile by another request are returned instead."""
        quota = self.runtime.core.storage_quota_bytes
        turn = owner_turn(STORAGE_TURN, request.owner_id)
        # The turn first (entered in order): no connection is held while waiting for it.
        async with (
            turn if quota > 0 else contextlib.nullcontext(),
            self.runtime.session_maker() as session,
        ):
            connection = await session.connection()
            if quota > 0:
                found = await standing(
                    connection,
                    request.owner_id,
                    request.sha256,
                    None,
                    with_usage=True,
                    exclude_intent=request.intent_id,
                )
                if found.existing is not None:
                    existing = await session.get(Image, found.existing)
                    if existing is not None:
                        return existing
                check_usage(found.used_bytes, request.size, quota)
            await insert_image(connection, image, request.album_id)
            await session.commit()
        return None

    async def _discard(self, request: IngestRequest, keys: list[str]) -> None:
        async with self.runtime.session_maker() as session:
            if await self._by_sha(session, request.owner_id, request.sha256) is not None:
                return  # another request recorded these same objects; they are not ours to drop
        with anyio.CancelScope(shield=True):
            for key in keys:
                try:
                    await self.runtime.storage.delete(key)
                except Exception:
                    log.exception("could not remove %s after a failed upload", key)

    def event(self, image: Image) -> dict[str, Any]:
        return image_event(image)

    @staticmethod
    async def _by_sha(session: AsyncSession, owner_id: uuid.UUID, sha256: str) -> Image | None:
        query = select(Image).where(Image.owner_id == owner_id, Image.sha256 == sha256)
        return (await session.execute(query)).scalar_one_or_none()

    @staticmethod
    async def _add_to_album(
        session: AsyncSession, album_id: uuid.UUID | None, image_ids: list[uuid.UUID]
    ) -> None:
        if album_id is None:
            return
        present = set(
            (
                await session.execute(
                    select(AlbumImage.image_id).where(
                        AlbumImage.album_id == album_id, AlbumImage.image_id.in_(image_ids)
                    )
                )
            ).scalars()
        )
        for image_id in image_ids:
            if image_id not in present:
                session.add(AlbumImage(album_id=album_id, image_id=image_id))

    async def delete(self, session: AsyncSession, image: Image) -> None:
        """Forget the row first, then the bytes: a crash in between leaves an orphan object
        (found by ``salon doctor``), never a row pointing at nothing."""
        event = self.event(image)
        keys = [image.storage_key, *(r["key"] for r in (image.renditions or {}).values())]
        await session.delete(image)
        await session.commit()
        for key in keys:
            try:
                await self.runtime.storage.delete(key)
            except Exception:
                log.exception("could not delete %s; `salon doctor` will find it", key)
        self.runtime.events.fire("image_deleted", event)

    async def trash(
        self, session: AsyncSession, images: list[Image], *, permanent: bool = False
    ) -> None:
        """Move images to the trash; ``permanent`` (or SALON_TRASH_DAYS=0) removes them and
        their objects at once (:meth:`delete`)."""
        if permanent or self.runtime.core.trash_days <= 0:
            for image in images:
                await self.delete(session, image)
            return
        now = utcnow()
        for image in images:
            if image.trashed_at is None:
                image.trashed_at = now
        await session.commit()

    async def purge_trash(
        self, *, now: dt.datetime | None = None, owner_id: uuid.UUID | None = None
    ) -> int:
        """Delete for good what has been in the trash SALON_TRASH_DAYS or longer (``owner_id``
        given: all of that owner's trash, "empty trash"), rows and objects. Returns how many.
        ``now`` is for tests (a controllable clock)."""
        query = select(Image).where(Image.trashed_at.is_not(None))
        if owner_id is not None:
            query = query.where(Image.owner_id == owner_id)
        else:
            cutoff = (now or utcnow()) - dt.timedelta(days=self.runtime.core.trash_days)
            query = query.where(Image.trashed_at <= cutoff)
        removed = 0
        async with self.runtime.session_maker() as session:
            # In batches, each image with its own commit (delete()): a crash part way leaves
            # the rest for the next purge, never a row without its objects.
            for image in list((await session.execute(query.limit(500))).scalars()):
                await self.delete(session, image)
                removed += 1
        return removed


async def get_owned(session: AsyncSession, owner_id: uuid.UUID, image_id: uuid.UUID) -> Image:
    image = await session.get(Image, image_id)
    if image is None or image.owner_id != owner_id:
        raise NotFound("image not found")
    return image


EARLIEST_TAKEN = dt.datetime(1826, 1, 1, tzinfo=dt.UTC)  # the oldest surviving photograph
CAMERA_TAKEN_META = "camera_taken_at"
# "local": ``taken_at`` is a wall-clock time in a zone nobody recorded, kept as written and
# labelled UTC (a camera without OffsetTime, or a correction sent without an offset); the UI
# shows it as written. "+02:00": a moment at a known offset (EXIF OffsetTime*, or a correction
# sent with one), which the UI shows at that offset: the camera's wall clock. Absent: a moment
# (older rows) shown in the viewer's zone.
TAKEN_ZONE_META = "taken_at_zone"


class BadDate(ValueError):
    """A capture time no photo can have; the message is for the client (400)."""


def set_taken_at(image: Image, when: dt.datetime, *, keep_zone: bool = False) -> None:
    """Correct the capture time; the first correction keeps the camera's own time (or its
    absence) in ``meta.camera_taken_at``, so it is never lost. A time without an offset is a
    wall-clock time, as a camera's without OffsetTime: stored as written (labelled UTC) and
    marked ``local``; one with an offset is a moment whose offset is kept, as a camera's
    OffsetTime is (``keep_zone``: leave the mark as is)."""
    local = when.tzinfo is None
    offset = None if local else when.utcoffset()
    if local:
        when = when.replace(tzinfo=dt.UTC)
    utc = in_utc(when)
    latest = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    if utc is None or not EARLIEST_TAKEN <= utc <= latest:
        raise BadDate(
            f"taken_at {(utc or when).isoformat()} is not a time a photo was taken (1826 to today)"
        )
    when = utc
    meta = dict(image.meta or {})
    if CAMERA_TAKEN_META not in meta:
        meta[CAMERA_TAKEN_META] = image.taken_at.isoformat() if image.taken_at else None
    if local:
        meta[TAKEN_ZONE_META] = "local"
    elif not keep_zone and offset is not None:
        meta[TAKEN_ZONE_META] = offset_name(offset)
    image.meta = meta
    image.taken_at = when


def shift_taken_at(image: Image, seconds: int) -> None:
    """Move the capture time by ``seconds`` (from the upload time when there is none)."""
    base = image.taken_at or image.created_at
    try:
        shifted = base + dt.timedelta(seconds=seconds)
    except OverflowError:
        raise BadDate("shift_seconds moves the date out of range") from None
    set_taken_at(image, shifted, keep_zone=True)


def taken_key() -> ColumnElement[dt.datetime]:
    """The timeline's sort key: when the photo was taken, or uploaded when that is unknown.
    Written exactly as ``ix_images_owner_taken`` indexes it (SQLite matches an expression
    index only on the same expression)."""
    return func.coalesce(Image.taken_at, Image.created_at)


def sort_key_of(image: Image, order: str) -> dt.datetime:
    return (image.taken_at or image.created_at) if order == TAKEN else image.created_at


@dataclass(frozen=True, slots=True)
class Shown:
    """Which of an owner's images a listing shows: the trash or everything else, then
    favorites, one album and a search when asked. Hashable: part of a cached page's key."""

    owner_id: uuid.UUID
    album_id: uuid.UUID | None = None
    favorite: bool | None = None
    trashed: bool = False
    search: ImageSearch | None = None


def filtered_query(shown: Shown, dialect: str = "sqlite") -> Select[tuple[Image]]:
    """The images ``shown`` lists (any order, no page), its search for ``dialect``."""
    query = select(Image).where(Image.owner_id == shown.owner_id)
    # The trash is listed apart: every other listing (albums and favorites too) skips it.
    if shown.trashed:
        query = query.where(Image.trashed_at.is_not(None))
    else:
        query = query.where(Image.trashed_at.is_(None))
    if shown.favorite is not None:
        query = query.where(Image.favorite == shown.favorite)
    if shown.album_id is not None:
        query = query.join(AlbumImage, AlbumImage.image_id == Image.id).where(
            AlbumImage.album_id == shown.album_id
        )
    if shown.search is not None:
        query = query.where(*search_conditions(shown.search, dialect))
    return query


# What a page shows (``page_item``) and its cursor needs: not the owner, the storage key or
# ``updated_at``, which would only cost a conversion per row. ``renditions`` and ``meta`` come
# as their JSON text (a CAST in SQL, as the drivers would decode JSON however the column is
# typed here): the page passes ``meta`` through and reads only names and widths of
# ``renditions``, instead of decoding both with ``json`` to encode them again (issue 19.2).
_IMAGES = Image.__table__.c
PAGE_COLUMNS = (
    *(_IMAGES[name] for name in (
        "id", "title", "content_type", "size", "width", "height", "sha256", "taken_at",
        "created_at", "favorite", "placeholder",
    )),
    cast(_IMAGES.renditions, Text).label("renditions"),
    cast(_IMAGES.meta, Text).label("meta"),
    *(_IMAGES[name] for name in ("status", "error", "trashed_at")),
)  # fmt: skip


def page_query(
    shown: Shown | uuid.UUID,
    *,
    limit: int,
    cursor: str | None = None,
    dialect: str = "sqlite",
    order: str = UPLOADED,
) -> Select[tuple[Image]]:
    """The SELECT behind :func:`list_page` (``limit + 1`` rows, to know whether a next page
    exists); an owner's id alone lists all of that owner's images but the trash. Kept
    separate so the listing benchmark can EXPLAIN the exact query.

    Served by ``ix_images_owner_page (owner_id, created_at, id)`` (or the favorite variant),
    or for ``order="taken"`` by ``ix_images_owner_taken (owner_id, coalesce(taken_at,
    created_at), id)``: an index range scan in order, stopping after ``limit + 1`` rows, so the
    cost does not grow with the number of images. A ``search`` (for ``dialect``) filters that
    scan; its words are matched once, in the full-text index. Raises CursorError on a cursor
    the server did not make (or made for the other order)."""
    if isinstance(shown, uuid.UUID):
        shown = Shown(shown)
    bounds = None
    if cursor:
        when, last_id = decode_cursor(cursor, order)
        bounds = literal(when, Image.created_at.type), literal(last_id, Image.id.type)
    return _in_order(filtered_query(shown, dialect), order, bounds).limit(limit + 1)


def _in_order(
    query: Select[tuple[Image]],
    order: str,
    bounds: tuple[ColumnElement[Any], ColumnElement[Any]] | None,
) -> Select[tuple[Image]]:
    """``query`` newest first by ``order``'s key, after ``bounds`` (a cursor's key and id)."""
    key = taken_key() if order == TAKEN else Image.created_at.expression
    if bounds is not None:
        bound, after = bounds
        if order == TAKEN:
            # Spelt out, not as a row value: SQLite ranges an expression index only on a
            # plain comparison of the expression (a row value over it scanned every newer
            # photo: 400 ms for a page deep in 100k).
            query = query.where(key <= bound, or_(key < bound, Image.id < after))
        else:
            query = query.where(tuple_(key, Image.id) < tuple_(bound, after))
    return query.order_by(key.desc(), Image.id.desc())


def page_statement(
    shown: Shown, *, limit: int, cursor: str | None, dialect: str, order: str = UPLOADED
) -> tuple[Select[Any], dict[str, Any]]:
    """:func:`page_query` with the :data:`PAGE_COLUMNS`, as a statement with bound
    parameters and their values: a listing without a search runs a statement built once for
    its kind (filters, cursor or not, order), so no statement and no cache key is built per
    request (issue 19.2). Raises CursorError on a cursor the server did not make."""
    if shown.search is not None:  # its words are in the statement
        query = page_query(shown, limit=limit, cursor=cursor, dialect=dialect, order=order)
        return query.with_only_columns(*PAGE_COLUMNS), {}
    values: dict[str, Any] = {"owner": shown.owner_id, "rows": limit + 1}
    if shown.favorite is not None:
        values["favorite"] = shown.favorite
    if shown.album_id is not None:
        values["album"] = shown.album_id
    if cursor:
        values["when"], values["after"] = decode_cursor(cursor, order)
    kind = (shown.trashed, "favorite" in values, "album" in values, "when" in values, order)
    return _page_template(*kind), values


@functools.cache
def _page_template(
    trashed: bool, favorite: bool, album: bool, after: bool, order: str
) -> Select[Any]:
    shown = Shown(
        cast_type(uuid.UUID, bindparam("owner")),
        trashed=trashed,
        favorite=cast_type(bool, bindparam("favorite")) if favorite else None,
        album_id=cast_type(uuid.UUID, bindparam("album")) if album else None,
    )
    bounds = None
    if after:
        bounds = (
            bindparam("when", type_=Image.created_at.type),
            bindparam("after", type_=Image.id.type),
        )
    query = _in_order(filtered_query(shown), order, bounds)
    return query.limit(bindparam("rows", type_=Integer())).with_only_columns(*PAGE_COLUMNS)


async def list_page(
    session: AsyncSession,
    shown: Shown,
    *,
    limit: int,
    cursor: str | None,
    order: str = UPLOADED,
) -> tuple[list[Any], str | None]:
    """One page (rows with the :data:`PAGE_COLUMNS` as attributes, like an ``Image``),
    newest first (uploaded, or taken for ``order="taken"``), by keyset on (sort key, id) so
    page 1000 costs what page 1 costs. Raises CursorError on a cursor the server did not
    make."""
    dialect = session.get_bind().dialect.name
    query, values = page_statement(shown, limit=limit, cursor=cursor, dialect=dialect, order=order)
    # Core rows with the page's columns, not ORM objects: no identity map, no instance
    # state, no conversion of the columns a page does not show (issue 19.2).
    # Executed on the session's connection: Core, without the ORM's statement setup.
    connection = await session.connection()
    return paged(list((await connection.execute(query, values)).all()), limit, order)


def paged(rows: list[Any], limit: int, order: str) -> tuple[list[Any], str | None]:
    """The page of ``limit + 1`` rows read by a page statement, and the next page's cursor."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, cursor_after(rows[-1], order)


def cursor_after(row: Any, order: str) -> str:
    """The cursor of the page that follows ``row`` (a page row, converted)."""
    return encode_cursor(sort_key_of(row, order), row.id, order)


def rendition_entry(
    image: Image, name: str, renditions: Sequence[RenditionSpec], *, visitor: bool = False
) -> Mapping[str, Any]:
    """The stored rendition ``name`` of ``image``; NotFound (404) saying why when there is
    none: not a configured rendition (``renditions``: the runtime's), or not made yet.
    ``visitor``: asked through a share link, so the answer gives no advice for the admin."""
    known = [spec.name for spec in renditions]
    if name not in known:
        raise NotFound(f"there is no rendition {name!r}; renditions: {', '.join(known)}")
    entry = (image.renditions or {}).get(name)
    if entry is None:
        if image.status == PROCESSING:
            raise NotFound(f"rendition {name!r} is not made yet: the image is processing")
        if image.status == FAILED:
            raise NotFound("this image could not be processed, so it has no renditions")
        if visitor:
            raise NotFound(f"this photo has no {name!r} rendition")
        raise NotFound(
            f"this image has no {name!r} rendition (made before it was configured, or its "
            "processor failed; `salon doctor --repair` makes missing renditions)"
        )
    return dict(entry)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# file_chunks, spool and tmp_dir live in intake (processing uses them too); the doctor,
# salon.context and tests import them from here.
__all__ = [
    "ImageService",
    "IngestItem",
    "IngestRequest",
    "NotFound",
    "ObjectNotFound",
    "Shown",
    "cursor_after",
    "file_chunks",
    "filtered_query",
    "get_owned",
    "list_page",
    "page_query",
    "page_statement",
    "paged",
    "rendition_entry",
    "sha256_file",
    "spool",
    "tmp_dir",
]


def _refusal_of(image: Image) -> UnsupportedMedia:
    """The refusal a failed image's bytes got from the full decode, to raise again."""
    reason = (image.meta or {}).get(REFUSAL_META)
    return media_refusal(image.error or "The image cannot be read.", reason)
