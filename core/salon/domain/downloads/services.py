"""ZIP archives streamed as they are made, never built in memory or on disk.

stream-zip writes each member's header, its bytes as storage hands them over (64 KiB at a
time), and a data descriptor with the CRC afterwards, so the server holds about one chunk per
download whatever the archive's size. Members are deflated at level 0 (stored blocks):
photos are compressed already, and stream-zip's own "stored" method would read a whole file
into memory to learn its CRC before writing it. The zip work runs in a thread, off the event
loop; ZIP64 is used per member and for the directory when sizes or offsets need it.

Names are the files' names on upload (as a single download keeps them), made unique within
the archive without regard to case ("IMG_1.jpg", "IMG_1 (2).jpg"), as unzip tools on Windows
and macOS would otherwise overwrite one with the other.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from stream_zip import ZIP_AUTO, AsyncMemberFile, async_stream_zip

from salon.db.models import Album, Image
from salon.domain.albums import services as albums
from salon.domain.images.services import NotFound, download_name
from salon.errors import RequestRefused
from salon.providers import StorageBackend
from salon.text import clean_text

Kind = Literal["original", "lg"]
MAX_SELECTION = 1000
# A member is a regular file, readable by all (what unzip applies on Unix).
_FILE_MODE = 0o100644
_CHUNK = 1 << 16


_RESERVED_ON_WINDOWS: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{kind}{n}" for kind in ("COM", "LPT") for n in range(1, 10)}
)


class UniqueNames:
    """Archive names, each new one made unique among those given before, ignoring case."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def __call__(self, name: str) -> str:
        clean = "".join("_" if ord(c) < 32 or c in '/\\:*?"<>|' else c for c in name).strip()
        clean = clean.lstrip(".") or "photo"
        stem, dot, extension = clean.rpartition(".")
        if not dot:
            stem, extension = clean, ""
        if stem.split(".")[0].upper() in _RESERVED_ON_WINDOWS:
            # Windows cannot make a file named CON or LPT1.txt: the archive would not unpack.
            clean, stem = f"_{clean}", f"_{stem}"
        candidate, n = clean, 1
        while candidate.casefold() in self._taken:
            n += 1
            candidate = f"{stem} ({n}).{extension}" if dot else f"{stem} ({n})"
        self._taken.add(candidate.casefold())
        return candidate


def member_name(image: Image, kind: Kind) -> str | None:
    """The file name for ``image`` in the archive; None when it has no such rendition yet."""
    name = download_name(image)
    if kind == "original":
        return name
    entry = (image.renditions or {}).get(kind)
    if not entry:
        return None
    extension = str(entry["content_type"]).rsplit("/", 1)[-1]
    # A name that only starts with a dot (".bashrc") has no extension to replace, and a
    # stem of dots alone ("..jpg") is no name.
    stem = name.rsplit(".", 1)[0] if name.rfind(".") > 0 else name
    return f"{stem.lstrip('.') or 'photo'}.{extension}"


def _key_and_size(image: Image, kind: Kind) -> tuple[str, int]:
    if kind == "original":
        return image.storage_key, image.size
    entry = image.renditions[kind]
    return str(entry["key"]), int(entry.get("size") or 0)


async def _members(
    storage: StorageBackend, images: Iterable[Image], kind: Kind
) -> AsyncIterator[AsyncMemberFile]:
    names = UniqueNames()
    for image in images:
        name = member_name(image, kind)
        if name is None:
            continue  # still processing (or failed): no such rendition to put in
        key, size = _key_and_size(image, kind)
        modified = (image.taken_at or image.created_at).astimezone(dt.UTC).replace(tzinfo=None)
        yield (
            names(name),
            modified,
            _FILE_MODE,
            ZIP_AUTO(size, level=0),
            storage.open(key, chunk_size=_CHUNK),
        )


def stream_archive(
    storage: StorageBackend, images: Sequence[Image], kind: Kind
) -> AsyncIterable[bytes]:
    """The ZIP of ``images`` (their originals, or their ``lg`` renditions), chunk by chunk."""
    return async_stream_zip(_members(storage, images, kind), chunk_size=_CHUNK)


async def album_images(session: AsyncSession, album: Album) -> list[Image]:
    """The album's photos (none in the trash), oldest first: the order they were taken in."""
    query = albums.photos_of(album).order_by(Image.id)
    return list((await session.scalars(query)).all())


async def selected_images(
    session: AsyncSession, owner_id: uuid.UUID, image_ids: list[uuid.UUID]
) -> list[Image]:
    """The caller's images in the order given; an id that is not theirs (or is in the trash)
    is a 404 naming it, and nothing is sent."""
    wanted = list(dict.fromkeys(image_ids))
    if not wanted:
        raise RequestRefused("image_ids must not be empty")
    if len(wanted) > MAX_SELECTION:
        raise RequestRefused(f"at most {MAX_SELECTION} images per download")
    rows = await session.scalars(
        select(Image).where(
            Image.owner_id == owner_id, Image.id.in_(wanted), Image.trashed_at.is_(None)
        )
    )
    found = {image.id: image for image in rows}
    missing = [str(i) for i in wanted if i not in found]
    if missing:
        raise NotFound("image not found: " + ", ".join(missing))
    return [found[i] for i in wanted]


def archive_name(title: str) -> str:
    clean = "".join("_" if c in '/\\:*?"<>|' else c for c in clean_text(title))
    return f"{clean[:150] or 'photos'}.zip"
