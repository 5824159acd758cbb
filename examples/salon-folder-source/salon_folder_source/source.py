"""The ``folder`` image source: the photos in a folder on the server, browsed a page at a time.

The folder stands in for any upstream that pages (a NAS share, a camera card, a stock-photo
API): ``entries_page`` answers one page and an opaque cursor for the next, ``download``
streams one file. Query keys: ``per_page`` (1 to the configured page size) and ``name`` (one
photo, by its path in the folder: what the page's Import button sends). The query and the
cursor are checked before the folder is read, so a bad one is a ``SourceQueryError`` (400)
that costs nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

import anyio
from anyio import to_thread
from salon.errors import SourceError, SourceQueryError
from salon.providers import ProviderContext, SourceCaller, SourceEntry, SourcePage

from salon_folder_source.settings import FolderSourceSettings

__all__ = ["FolderSource"]

SCHEME: Final = "folder:"
CURSOR_PREFIX: Final = "after:"
SUFFIXES: Final = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff"})
_CHUNK: Final = 64 * 1024
_ALLOWED_KEYS: Final = frozenset({"per_page", "name"})
_MAX_NAME: Final = 500


@dataclass(frozen=True, slots=True)
class _Query:
    per_page: int
    name: str | None
    after: str | None


class FolderSource:
    """A :class:`salon.providers.PagedImageSource` named ``folder``."""

    name = "folder"
    title = "Folder"

    def __init__(self, root: Path, *, page_size: int = 24) -> None:
        self.root = root
        self.page_size = page_size
        self.listings = 0  # how often the folder was read: the contract's "upstream calls"

    @classmethod
    def from_context(cls, context: ProviderContext) -> FolderSource:
        settings = context.settings
        if not isinstance(settings, FolderSourceSettings):
            settings = FolderSourceSettings()
        if settings.root:
            return cls(Path(settings.root), page_size=settings.page_size)
        # The default folder is ours to make; a configured one must exist (else SourceError).
        root = Path(context.data_dir) / "folder-source"
        root.mkdir(parents=True, exist_ok=True)
        return cls(root, page_size=settings.page_size)

    async def entries(self, query: Mapping[str, str]) -> Sequence[SourceEntry]:
        """The first page (the core calls ``entries_page`` instead; kept for the Protocol)."""
        return (await self._page(self._parse(query, None))).entries

    async def entries_page(
        self, query: Mapping[str, str], *, cursor: str | None, caller: SourceCaller
    ) -> SourcePage:
        # Every signed-in user sees the same folder: the caller is not needed here.
        return await self._page(self._parse(query, cursor))

    def _parse(self, query: Mapping[str, str], cursor: str | None) -> _Query:
        unknown = set(query) - _ALLOWED_KEYS
        if unknown:
            raise SourceQueryError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
        try:
            per_page = int(query.get("per_page", str(self.page_size)))
        except ValueError:
            raise SourceQueryError("per_page must be a whole number") from None
        if not 1 <= per_page <= self.page_size:
            raise SourceQueryError(f"per_page must be between 1 and {self.page_size}")
        name = query.get("name")
        if name is not None:
            name = _relative(name, "name")
        return _Query(per_page, name, _decode_cursor(cursor) if cursor is not None else None)

    async def _page(self, query: _Query) -> SourcePage:
        names = await to_thread.run_sync(self._list)
        self.listings += 1
        if query.name is not None:
            if query.name not in names:
                raise SourceQueryError(f"no photo named {query.name!r} in the folder")
            return SourcePage(await to_thread.run_sync(self._entries, [query.name]))
        # Names are sorted, so "after this name" stays right when photos are added meanwhile.
        rest = [n for n in names if query.after is None or n > query.after]
        shown = rest[: query.per_page]
        entries = await to_thread.run_sync(self._entries, shown)
        more = len(rest) > len(shown)
        return SourcePage(entries, _encode_cursor(shown[-1]) if more and shown else None)

    def _list(self) -> list[str]:
        """The photos' paths in the folder, sorted; hidden files and symbolic links left out
        (a link could lead outside the folder)."""
        if not self.root.is_dir():
            raise SourceError("the photo folder is missing or not a folder")
        found: list[str] = []
        for folder, subfolders, files in os.walk(self.root):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            base = Path(folder)
            for file in files:
                path = base / file
                if file.startswith(".") or path.suffix.lower() not in SUFFIXES:
                    continue
                if not path.is_symlink():
                    found.append(path.relative_to(self.root).as_posix())
        return sorted(found)

    def _entries(self, names: Sequence[str]) -> list[SourceEntry]:
        try:
            return [self._entry(name) for name in names]
        except OSError as exc:  # removed since it was listed, say
            raise SourceError(f"cannot read the photo folder: {exc.strerror}") from None

    def _entry(self, name: str) -> SourceEntry:
        stat = (self.root / name).stat()
        return SourceEntry(
            external_id=name,
            title=PurePosixPath(name).stem.replace("_", " "),
            media_type="image",
            image_url=SCHEME + name,
            date=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).date(),
            metadata={"folder_path": name, "folder_bytes": stat.st_size},
        )

    async def download(self, entry: SourceEntry) -> AsyncIterator[bytes]:
        """Stream the file in chunks, read as they are asked for."""
        url = entry.image_url
        if url is None or not url.startswith(SCHEME):
            raise SourceError(f"entry {entry.external_id[:60]!r} has no photo in the folder")
        try:
            path = self._file(_relative(url.removeprefix(SCHEME), "image_url"))
            async with await anyio.open_file(path, "rb") as handle:
                while chunk := await handle.read(_CHUNK):
                    yield chunk
        except (OSError, SourceQueryError) as exc:
            raise SourceError(f"cannot read {entry.external_id[:60]!r}: {exc}") from None

    def _file(self, name: str) -> Path:
        path = self.root / name
        if path.is_symlink() or not path.is_file():
            raise SourceError(f"{name[:60]!r} is not a photo in the folder")
        return path


def _relative(name: str, what: str) -> str:
    """``name`` if it is a plain relative path inside the folder, else a SourceQueryError."""
    parts = PurePosixPath(name).parts
    if (
        not name
        or len(name) > _MAX_NAME
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(part in {".", ".."} or part.startswith(".") for part in parts)
    ):
        raise SourceQueryError(f"{what} must be a path inside the folder")
    return name


def _encode_cursor(after: str) -> str:
    return base64.urlsafe_b64encode((CURSOR_PREFIX + after).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(CURSOR_PREFIX):
        raise SourceQueryError("not a cursor this source gave out")
    return _relative(text.removeprefix(CURSOR_PREFIX), "cursor")
