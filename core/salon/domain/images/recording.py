"""The SQL of an upload's intake as statements built once (issue 21): the checks before the
bytes are stored in one SELECT, the new image and its album place as Core INSERTs.

Through the ORM an upload cost the event loop about 1.5 ms for this SQL alone: statements
built and their cache keys made per request, a unit of work and an identity map for one
row. Here each statement is built (and its cache key made) once per process and run on the
session's connection. What the ORM's events gave the change tracking is kept: every
statement still goes through the engine (its writes are seen, :mod:`salon.db.changes`), and
each INSERT names the owner's or the album's scope (``SCOPES_OPTION``) as a flush named its
rows', so other users' cached pages stay. The search index and the change log are triggers:
they see these INSERTs as any other.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BindParameter, Select, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from salon.db.changes import SCOPES_OPTION
from salon.db.models import Album, AlbumImage, Image, UploadIntent, Video
from salon.domain.images.quota import OPEN_UPLOAD_STATES

__all__ = ["Standing", "insert_image", "standing"]

_IMAGES = cast(Table, Image.__table__)
_INTENTS = UploadIntent.__table__
_VIDEOS = Video.__table__
_ALBUMS = Album.__table__
# Compared with an upload's own announcement when it has none: no id is all zeros.
_NO_INTENT = uuid.UUID(int=0)
# The columns an image is written with: all but SQLAlchemy's own insert sentinel.
_IMAGE_COLUMNS = tuple(c.key for c in _IMAGES.c if c.key != "sa_orm_sentinel")
_INSERT_IMAGE = _IMAGES.insert()
_INSERT_MEMBER = cast(Table, AlbumImage.__table__).insert()


@dataclass(frozen=True, slots=True)
class Standing:
    """What the database says about an upload before its bytes are stored: the owner's image
    with the same bytes (its id), the owner of the album asked for, and the bytes the owner
    uses (originals and open direct uploads but the one being completed; 0 when not asked)."""

    existing: uuid.UUID | None
    album_owner: uuid.UUID | None
    used_bytes: int


def _param(name: str, column: Any) -> BindParameter[Any]:
    return bindparam(name, type_=column.type)


@functools.cache
def _standing_statement(with_usage: bool) -> Select[Any]:
    owner = _param("owner", _IMAGES.c.owner_id)
    existing = select(_IMAGES.c.id).where(
        _IMAGES.c.owner_id == owner, _IMAGES.c.sha256 == _param("sha256", _IMAGES.c.sha256)
    )
    album = select(_ALBUMS.c.owner_id).where(_ALBUMS.c.id == _param("album", _ALBUMS.c.id))
    columns = [
        existing.scalar_subquery().label("existing"),
        album.scalar_subquery().label("album_owner"),
    ]
    if with_usage:
        images = select(func.coalesce(func.sum(_IMAGES.c.size), 0)).where(
            _IMAGES.c.owner_id == owner
        )
        # quota._open_intents, as parameters (the states are fixed, ``now`` per call).
        pending = select(func.coalesce(func.sum(_INTENTS.c.size), 0)).where(
            _INTENTS.c.owner_id == owner,
            _INTENTS.c.status.in_(OPEN_UPLOAD_STATES),
            _INTENTS.c.expires_at > _param("now", _INTENTS.c.expires_at),
            _INTENTS.c.id != _param("intent", _INTENTS.c.id),
        )
        videos = select(func.coalesce(func.sum(_VIDEOS.c.size), 0)).where(
            _VIDEOS.c.owner_id == owner
        )
        columns.append(images.scalar_subquery().label("images_bytes"))
        columns.append(pending.scalar_subquery().label("pending_bytes"))
        columns.append(videos.scalar_subquery().label("videos_bytes"))
    return select(*columns)


async def standing(
    connection: AsyncConnection,
    owner_id: uuid.UUID,
    sha256: str,
    album_id: uuid.UUID | None,
    *,
    with_usage: bool,
    exclude_intent: uuid.UUID | None = None,
) -> Standing:
    """One SELECT for the checks an upload needs before its bytes are stored (the usage sums
    only ``with_usage``: a quota is set)."""
    values: dict[str, Any] = {"owner": owner_id, "sha256": sha256, "album": album_id}
    if with_usage:
        values["now"] = dt.datetime.now(dt.UTC)
        values["intent"] = exclude_intent or _NO_INTENT
    row = (await connection.execute(_standing_statement(with_usage), values)).one()
    used = (
        int(row.images_bytes or 0) + int(row.pending_bytes or 0) + int(row.videos_bytes or 0)
        if with_usage
        else 0
    )
    return Standing(row.existing, row.album_owner, used)


async def insert_image(
    connection: AsyncConnection, image: Image, album_id: uuid.UUID | None
) -> None:
    """Write ``image`` (every column set on it) and its place in ``album_id``; the caller
    commits. Raises IntegrityError when the owner has these bytes already (a race)."""
    values = {key: getattr(image, key) for key in _IMAGE_COLUMNS}
    scopes = {SCOPES_OPTION: (("images", str(image.owner_id)),)}
    await connection.execute(_INSERT_IMAGE, values, execution_options=scopes)
    if album_id is not None:
        member = {"album_id": album_id, "image_id": image.id, "added_at": image.created_at}
        scopes = {SCOPES_OPTION: (("album_images", str(album_id)),)}
        await connection.execute(_INSERT_MEMBER, member, execution_options=scopes)
