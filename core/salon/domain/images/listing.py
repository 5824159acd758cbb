"""The image list as encoded JSON pages, cached while the user's images and albums are
unchanged: listing is what a gallery does most, and a repeated page then costs no query and
no encoding (``SALON_READ_CACHE_MB`` per process; see ``salon.db.changes``). The timeline's
month counts (``GET /api/images/months``) are cached the same way, under the same versions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from salon.caching import VersionedCache
from salon.db.direct import DirectSelect, uuid_text
from salon.db.reads import read_session
from salon.domain.images.cursor import UPLOADED
from salon.domain.images.page_items import PageItems
from salon.domain.images.schemas import ImagePage, page_item
from salon.domain.images.services import Shown, cursor_after, list_page, page_statement
from salon.domain.images.timeline import month_counts
from salon.providers import TableVersions

TABLES = ("images", "album_images", "albums")
# (what: "page" or "months", shown, limit, cursor, order)
EntryKey = tuple[str, Shown, int, str | None, str]


class ImageLister:
    """``GET /api/images`` pages and ``GET /api/images/months`` for one process."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        changes: TableVersions | None,
        max_bytes: int,
        engine: AsyncEngine | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        # Page statements (one per kind of listing) compiled for the driver, by template.
        self._direct: dict[int, tuple[DirectSelect, PageItems]] = {}
        self._entries: VersionedCache[EntryKey, bytes] = VersionedCache(
            changes, TABLES, max_entries=100_000, max_size=max_bytes
        )
        self._encoder = msgspec.json.Encoder()

    async def page_json(
        self, shown: Shown, *, limit: int, cursor: str | None, order: str = UPLOADED
    ) -> bytes:
        """One page as JSON. Raises CursorError on a cursor the server did not make."""

        async def load(session: AsyncSession) -> object:
            rows, next_cursor = await list_page(
                session, shown, limit=limit, cursor=cursor, order=order
            )
            return ImagePage([page_item(row) for row in rows], next_cursor)

        return await self._cached(("page", shown, limit, cursor, order), load)

    def cached_page(
        self, shown: Shown, *, limit: int, cursor: str | None, order: str = UPLOADED
    ) -> bytes | None:
        """The page :meth:`page_json` would answer, if cached and still current; else None."""
        key: EntryKey = ("page", shown, limit, cursor, order)
        return self._entries.get(key, self._version(shown))

    async def driver_page(
        self, shown: Shown, *, limit: int, cursor: str | None, order: str = UPLOADED
    ) -> bytes | None:
        """:meth:`page_json`'s page (the same bytes, cached the same way), its rows read
        straight from the driver (``salon.db.direct``: no session, no SQLAlchemy result;
        issue 19.2); None when this listing is not read so (a search, another driver).
        Raises CursorError on a cursor the server did not make, and the driver's errors."""
        key: EntryKey = ("page", shown, limit, cursor, order)
        version = self._version(shown)  # read BEFORE the query, as in _cached
        body = self._entries.get(key, version)
        if body is not None:
            return body
        direct = self._direct_select(shown, limit=limit, cursor=cursor, order=order)
        if direct is None:
            return None
        (statement, items), values = direct
        rows = await statement.fetch(values)
        # Only the last row of a full page is converted (for the next page's cursor).
        next_cursor = (
            cursor_after(statement.convert(rows[limit - 1]), order) if len(rows) > limit else None
        )
        page = ImagePage(items.items(rows[:limit]), next_cursor)
        body = self._encoder.encode(page)
        self._entries.put(key, body, version, len(body))
        return body

    def _direct_select(
        self, shown: Shown, *, limit: int, cursor: str | None, order: str
    ) -> tuple[tuple[DirectSelect, PageItems], dict[str, Any]] | None:
        if self._engine is None or shown.search is not None:
            return None  # a search's words are in its statement, built per request
        dialect = self._engine.dialect.name
        query, values = page_statement(
            shown, limit=limit, cursor=cursor, dialect=dialect, order=order
        )
        reader = self._direct.get(id(query))
        if reader is None:
            # The templates live as long as the process (functools.cache): their ids stay.
            # The page needs the ids only as text (the items, the next cursor).
            statement = DirectSelect(self._engine, query, {"id": uuid_text})
            reader = self._direct[id(query)] = (statement, PageItems(statement))
        return (reader, values) if reader[0].supported else None

    async def months_json(self, shown: Shown) -> bytes:
        """The timeline's months of what ``shown`` lists, as JSON."""

        async def load(session: AsyncSession) -> object:
            return await month_counts(session, shown)

        return await self._cached(("months", shown, 0, None, ""), load)

    async def _cached(
        self, key: EntryKey, load: Callable[[AsyncSession], Awaitable[object]]
    ) -> bytes:
        version = self._version(key[1])
        body = self._entries.get(key, version)
        if body is None:
            async with read_session(self._sessions) as session:
                if self._entries.enabled and session.in_transaction():
                    # The request's shared session may have begun its snapshot (the token
                    # check) before ``version`` was read: a page read there could predate a
                    # commit the version already counts and be cached as current. Start anew
                    # (the user it loaded stays as loaded: detached, not expired).
                    session.expunge_all()
                    await session.rollback()
                body = self._encoder.encode(await load(session))
            self._entries.put(key, body, version, len(body))
        return body

    def _version(self, shown: Shown) -> int:
        # Only this owner's rows (and the album's) can change the entry: a write by another
        # user must not drop it (issue 19). Words also match album names, so a search entry
        # depends on the owner's albums and on album membership, which no owner scope names.
        owner = str(shown.owner_id)
        scopes = [("images", owner)]
        if shown.album_id is not None:
            scopes += [("albums", owner), ("album_images", str(shown.album_id))]
        texts = shown.search is not None and shown.search.words is not None
        if texts:
            scopes.append(("albums", owner))
        return self._entries.version_for(*scopes, whole=("album_images",) if texts else ())
