"""A listing page's items made straight from the driver's rows (issue 19.2): no named tuple
and no :class:`ImageOut` per row, each value converted once into what the JSON shows.

The item is a struct with :class:`ImageOut`'s fields in its order, built positionally, so
the page's JSON is :func:`schemas.page_item`'s byte for byte (a test compares the two
answers on SQLite and PostgreSQL, and fails when ``ImageOut`` has a field not in
:data:`WRITTEN`). On SQLite a time is written as text straight from its stored form
(``YYYY-MM-DD HH:MM:SS.ffffff``, UTC), as msgspec writes the UTC ``datetime`` SQLAlchemy
would have made of it; any other form goes through the column's own conversion.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from salon.db.direct import DirectSelect, uuid_text
from salon.domain.images.schemas import raw_meta, stored_renditions

__all__ = ["COLUMNS", "WRITTEN", "PageItems"]

# The columns :meth:`PageItems.item` reads, in order: ``services.PAGE_COLUMNS``' keys.
COLUMNS = (
    "id", "title", "content_type", "size", "width", "height", "sha256", "taken_at",
    "created_at", "favorite", "placeholder", "renditions", "meta", "status", "error",
    "trashed_at",
)  # fmt: skip
# The fields :meth:`PageItems.item` writes, in order: ``ImageOut``'s (a test compares them).
WRITTEN = (
    "id", "title", "content_type", "size", "width", "height", "sha256", "taken_at",
    "created_at", "favorite", "placeholder", "urls", "metadata", "status", "error",
    "trashed_at", "rendition_widths",
)  # fmt: skip

_Item: Any = msgspec.defstruct("PageItem", WRITTEN)
_Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def sqlite_time(convert: _Convert | None) -> _Convert:
    """A SQLite time column's stored text as the JSON text of its UTC ``datetime``
    (msgspec's: ``T``, the microseconds only when not 0, ``Z``); anything else through
    ``convert`` (the column's result processor)."""
    fallback = convert or _same

    def text(value: Any) -> Any:
        if value.__class__ is str and len(value) == 26 and value[10] == " " and value[19] == ".":
            if value.endswith("000000"):
                return f"{value[:10]}T{value[11:19]}Z"
            return f"{value[:10]}T{value[11:]}Z"
        return None if value is None else fallback(value)

    return text


def _urls_json(base: str, names: tuple[str, ...]) -> list[str]:
    """``urls``' JSON for an image with the renditions ``names`` (sorted), in pieces to join
    with the image's id: the same for every image with the same renditions (an id is hex
    and dashes: nothing in it to escape)."""
    prefix = f"{base}/{_MARK}"
    urls = {
        "original": f"{prefix}/original",
        "renditions": {name: f"{prefix}/renditions/{name}" for name in names},
    }
    pieces = msgspec.json.encode(urls).decode().split(_WRITTEN_MARK)
    if len(pieces) != len(names) + 2:  # a name with the mark in it
        raise ValueError(f"rendition names {names!r} hold {_MARK!r}")
    return pieces


# Where the id goes: a character no name has; msgspec writes it escaped.
_MARK = "\x00"
_WRITTEN_MARK = msgspec.json.encode(_MARK)[1:-1].decode()


class PageItems:
    """Items for the rows of one page statement (a :class:`DirectSelect` of :data:`COLUMNS`)."""

    def __init__(self, statement: DirectSelect, base: str = "/api/images") -> None:
        if statement.keys != COLUMNS:
            raise ValueError(f"a page statement selects {COLUMNS}, not {statement.keys}")
        sqlite = statement.dialect == "sqlite"
        self._times = [
            sqlite_time(statement.processor(key)) if sqlite else statement.processor(key) or _same
            for key in ("taken_at", "created_at", "trashed_at")
        ]
        self._favorite = statement.processor("favorite") or _same
        self._urls = functools.lru_cache(maxsize=64)(functools.partial(_urls_json, base))

    def items(self, rows: Sequence[Any]) -> list[Any]:
        return [self.item(row) for row in rows]

    def item(self, row: Any) -> Any:
        (ident, title, content_type, size, width, height, sha256, taken_at, created_at,
         favorite, placeholder, renditions, meta, status, error, trashed_at) = row  # fmt: skip
        taken, created, trashed = self._times
        ident = uuid_text(ident) or ""  # never null (the primary key)
        stored = stored_renditions.decode(renditions) if renditions else None
        urls = msgspec.Raw(ident.join(self._urls(tuple(sorted(stored)) if stored else ())))
        widths = {name: int(entry.width) for name, entry in stored.items()} if stored else {}
        return _Item(
            ident, title, content_type, size, width, height, sha256, taken(taken_at),
            created(created_at), self._favorite(favorite), placeholder, urls, raw_meta(meta),
            status or "ready", error, trashed(trashed_at), widths,
        )  # fmt: skip
