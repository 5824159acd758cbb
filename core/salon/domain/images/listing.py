"""The image list as encoded JSON pages, cached while the user's images and albums are
unchanged: listing is what a gallery does most, and a repeated page then costs no query and
no encoding (``SALON_READ_CACHE_MB`` per process; see ``salon.db.changes``)."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon.caching import VersionedCache
from salon.domain.images.schemas import ImagePage, image_out
from salon.domain.images.search import ImageSearch
from salon.domain.images.services import list_page
from salon.providers import TableVersions

TABLES = ("images", "album_images", "albums")
PageKey = tuple[uuid.UUID, int, str | None, uuid.UUID | None, bool | None, bool, ImageSearch | None]


class ImageLister:
    """``GET /api/images`` pages for one process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        changes: TableVersions | None,
        max_bytes: int,
    ) -> None:
        self._sessions = sessions
        self._pages: VersionedCache[PageKey, bytes] = VersionedCache(
            changes, TABLES, max_entries=100_000, max_size=max_bytes
        )
        self._encoder = msgspec.json.Encoder()

    async def page_json(
        self,
        owner_id: uuid.UUID,
        *,
        limit: int,
        cursor: str | None,
        album_id: uuid.UUID | None,
        favorite: bool | None,
        trashed: bool = False,
        search: ImageSearch | None = None,
    ) -> bytes:
        """One page as JSON. Raises CursorError on a cursor the server did not make."""
        key: PageKey = (owner_id, limit, cursor, album_id, favorite, trashed, search)
        # Only this owner's rows (and the album's) can change the page: a write by another
        # user must not drop it (issue 19). Words also match album names, so a search page
        # depends on the owner's albums and on album membership, which no owner scope names.
        owner = str(owner_id)
        scopes = [("images", owner)]
        if album_id is not None:
            scopes += [("albums", owner), ("album_images", str(album_id))]
        texts = search is not None and search.words is not None
        if texts:
            scopes.append(("albums", owner))
        version = self._pages.version_for(*scopes, whole=("album_images",) if texts else ())
        body = self._pages.get(key, version)
        if body is None:
            async with self._sessions() as session:
                rows, next_cursor = await list_page(
                    session,
                    owner_id,
                    limit=limit,
                    cursor=cursor,
                    album_id=album_id,
                    favorite=favorite,
                    trashed=trashed,
                    search=search,
                )
            body = self._encoder.encode(ImagePage([image_out(row) for row in rows], next_cursor))
            self._pages.put(key, body, version, len(body))
        return body
