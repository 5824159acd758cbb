"""Importing from image sources: each entry downloaded, stored through the normal ingest path,
deduplicated by sha256 and by (source, external_id), and filed in an album named after the
source (``APOD``) for that user. An import asked with ``favorite`` also favorites each entry's
image, whether it was imported now or before (so a star imports an entry once)."""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from salon.db.models import Image, SourceImport
from salon.domain.albums.services import get_or_create
from salon.domain.images.intake import ByteStream
from salon.domain.images.quota import QuotaExceeded
from salon.domain.images.services import ImageService, IngestItem, NotFound
from salon.domain.ports import SourcePorts
from salon.errors import SourceError, SourceRateLimited, UnsupportedMedia
from salon.providers import (
    ImageSource,
    PagedImageSource,
    SourceCaller,
    SourceEntry,
    SourcePage,
)

log = logging.getLogger("salon.sources")

CORE_META_KEYS = frozenset({"source", "external_id", "filename"})
"""Keys of an imported image's metadata that the core writes; a source's own are dropped. The
media processor's keys (``format``, ...) win over a source's too (see ``ImageService``)."""

Progress = Callable[[int, int], Awaitable[None] | None]


class SourceImportService:
    def __init__(self, runtime: SourcePorts, images: ImageService) -> None:
        self.runtime = runtime
        self.images = images
        self._warned: set[tuple[str, str]] = set()

    def source(self, name: str) -> ImageSource:
        source = self.runtime.sources.get(name)
        if source is None:
            raise NotFound(f"no image source named {name!r}")
        return source

    async def page(
        self, source: ImageSource, query: Mapping[str, str], caller: SourceCaller
    ) -> SourcePage:
        """The entries ``query`` selects, from whichever door the source has: ``entries_page``
        (whose ``cursor`` the core takes out of the query), else ``entries``, given ``caller``
        only when its signature names it (a source written before callers existed is called
        as before, and a ``cursor`` in its query is its own)."""
        if isinstance(source, PagedImageSource):
            rest = dict(query)
            cursor = rest.pop("cursor", None)
            return await source.entries_page(rest, cursor=cursor, caller=caller)
        entries: Callable[..., Awaitable[Sequence[SourceEntry]]] = source.entries
        if _names_caller(entries):
            return SourcePage(await entries(query, caller=caller))
        return SourcePage(await entries(query))

    async def run(
        self,
        owner_id: uuid.UUID,
        source_name: str,
        query: Mapping[str, str],
        progress: Progress | None = None,
        *,
        favorite: bool = False,
        selected: Sequence[SourceEntry] | None = None,
        caller: SourceCaller | None = None,
    ) -> dict[str, Any]:
        """Import every importable entry the query selects. One entry failing is counted and
        logged; the rest go on. Returns counts by outcome and ``image_ids``, each entry's image
        by external id. ``favorite`` favorites each entry's image (taking it out of the trash:
        starring it is asking for it back). ``selected`` are the entries the request already
        got for ``query``: asking the source again would spend its upstream quota twice."""
        source = self.source(source_name)
        if selected is None:
            asking = caller if caller is not None else SourceCaller(owner_id)
            selected = (await self.page(source, query, asking)).entries
        entries = selected
        async with self.runtime.session_maker() as session:
            album = await get_or_create(session, owner_id, source.title)
        summary: dict[str, Any] = {
            "total": len(entries),
            "imported": 0,
            "skipped": 0,
            "not_images": 0,
            "failed": 0,
        }
        image_ids: dict[str, str] = {}
        for done, entry in enumerate(entries, start=1):
            outcome, image_id = await self._one(owner_id, source, entry, album.id)
            summary[outcome] += 1
            if image_id is not None:
                image_ids[entry.external_id] = str(image_id)
                if favorite:
                    await self._favorite(owner_id, image_id)
            if progress is not None:
                result = progress(done, len(entries))
                if inspect.isawaitable(result):
                    await result
        summary["album_id"] = str(album.id)
        summary["image_ids"] = image_ids
        return summary

    async def _favorite(self, owner_id: uuid.UUID, image_id: uuid.UUID) -> None:
        async with self.runtime.session_maker() as session:
            await session.execute(
                update(Image)
                .where(Image.id == image_id, Image.owner_id == owner_id)
                .values(favorite=True, trashed_at=None)
            )
            await session.commit()

    async def imported(
        self, owner_id: uuid.UUID, source_name: str, external_ids: list[str]
    ) -> dict[str, tuple[uuid.UUID, bool]]:
        """Which of these entries the owner has imported (and not trashed): external id to
        (image id, favorite)."""
        if not external_ids:
            return {}
        query = (
            select(SourceImport.external_id, Image.id, Image.favorite)
            .join(Image, Image.id == SourceImport.image_id)
            .where(
                SourceImport.owner_id == owner_id,
                SourceImport.source == source_name,
                SourceImport.external_id.in_(external_ids),
                Image.trashed_at.is_(None),
            )
        )
        async with self.runtime.session_maker() as session:
            rows = (await session.execute(query)).all()
        return {external_id: (image_id, bool(fav)) for external_id, image_id, fav in rows}

    def _source_metadata(self, source_name: str, entry: SourceEntry) -> dict[str, Any]:
        """The entry's metadata without the keys the core writes itself: a source's
        ``source`` or ``filename`` would otherwise mislabel the image. Each dropped key is
        logged once per source, so the source's author can rename it."""
        kept: dict[str, Any] = {}
        for key, value in entry.metadata.items():
            if key in CORE_META_KEYS:
                if (source_name, key) not in self._warned:
                    self._warned.add((source_name, key))
                    log.warning(
                        "source %s: metadata key %r is the core's; the source's value is "
                        "dropped (rename it in the source)",
                        source_name,
                        key,
                    )
                continue
            kept[key] = value
        return kept

    async def _one(
        self, owner_id: uuid.UUID, source: ImageSource, entry: SourceEntry, album_id: uuid.UUID
    ) -> tuple[str, uuid.UUID | None]:
        """The entry's outcome and its image (``None`` when there is none)."""
        if entry.image_url is None:
            return "not_images", None
        async with self.runtime.session_maker() as session:
            seen = await session.scalar(
                select(SourceImport.image_id).where(
                    SourceImport.owner_id == owner_id,
                    SourceImport.source == source.name,
                    SourceImport.external_id == entry.external_id,
                )
            )
            if seen is not None:
                return "skipped", seen
        limit = self.runtime.core.max_upload_bytes
        download = ByteStream(
            source.download(entry), limit, SourceError(f"image is larger than {limit} bytes")
        )
        item = IngestItem(
            owner_id=owner_id,
            title=entry.title,
            album_id=album_id,
            meta={
                **self._source_metadata(source.name, entry),
                "source": source.name,
                "external_id": entry.external_id,
            },
        )
        try:
            image, created = await self.images.ingest_from(download, item)
        except SourceRateLimited:
            # Not this entry's fault: the whole job is retried later (the worker waits the
            # upstream's Retry-After) and entries imported so far are skipped then.
            raise
        except SourceError as exc:
            log.warning("%s entry %s: download failed: %s", source.name, entry.external_id, exc)
            return "failed", None
        except UnsupportedMedia as exc:
            log.warning(
                "%s entry %s is not a usable image: %s", source.name, entry.external_id, exc
            )
            return "failed", None
        except QuotaExceeded as exc:
            log.warning("%s entry %s not stored: %s", source.name, entry.external_id, exc)
            return "failed", None
        async with self.runtime.session_maker() as session:
            session.add(
                SourceImport(
                    owner_id=owner_id,
                    source=source.name,
                    external_id=entry.external_id,
                    image_id=image.id,
                )
            )
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
        return ("imported" if created else "skipped"), image.id


def entry_to_payload(entry: SourceEntry) -> dict[str, Any]:
    """``entry`` as JSON for a job's payload (its ``metadata`` is JSON-able by contract)."""
    return {
        "external_id": entry.external_id,
        "title": entry.title,
        "media_type": entry.media_type,
        "image_url": entry.image_url,
        "page_url": entry.page_url,
        "thumbnail_url": entry.thumbnail_url,
        # A datetime is a date too; only its day is a SourceEntry's.
        "date": (
            dt.date(entry.date.year, entry.date.month, entry.date.day).isoformat()
            if entry.date is not None
            else None
        ),
        "metadata": dict(entry.metadata),
    }


def entry_from_payload(data: Mapping[str, Any]) -> SourceEntry:
    """The :class:`SourceEntry` :func:`entry_to_payload` wrote."""
    day = data.get("date")
    return SourceEntry(
        external_id=str(data["external_id"]),
        title=str(data["title"]),
        media_type=str(data["media_type"]),
        image_url=data.get("image_url"),
        page_url=data.get("page_url"),
        thumbnail_url=data.get("thumbnail_url"),
        date=dt.date.fromisoformat(day) if day else None,
        metadata=dict(data.get("metadata") or {}),
    )


def _names_caller(method: Callable[..., Any]) -> bool:
    """Whether ``method`` takes a ``caller`` keyword (pluggy's rule for hooks, applied to a
    provider method: it gets only what it names)."""
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        (p.name == "caller" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        or p.kind is p.VAR_KEYWORD
        for p in parameters
    )
