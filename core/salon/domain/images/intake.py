"""Where the bytes of a new image come from, read once (issue 19.3).

Every way in (``POST /api/images``, direct-upload completion, image source imports, ``salon
import``) hands :meth:`ImageService.ingest_from` one of these sources. :func:`local_bytes`
turns it into a file this process can read, its size and its sha256, touching the bytes once:

- :class:`LocalFile`: already a file (the request body spooled by ``receive_multipart``, hashed
  on the way; a file given to ``salon import``, hashed here). Nothing is copied.
- :class:`ByteStream`: arriving bytes (an image source's download): written to a temporary
  file and hashed in the same pass.
- :class:`StoredObject`: an object in storage that only the server writes (a staged direct
  upload). On storage with local paths it is hashed where it lies; elsewhere (S3) it is
  downloaded once, hashed on the way. Either way the original is then a storage-side copy of
  it (``CopyingStorage``: a hard link, CopyObject), and the renditions are made from the local
  file instead of downloading the original again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio

from salon.domain.ports import Settings
from salon.errors import ObjectNotFound
from salon.providers import StorageBackend

READ_CHUNK = 1 << 20
# The last part of a spooled stream up to this size is written on the caller's thread (tens
# of microseconds); larger ones in a thread.
INLINE_WRITE = 64 * 1024


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A file this process may read; ``sha256``/``size`` when already known. The caller keeps
    owning the file (it is not deleted here). ``disposable``: a temporary file of the
    caller's (a spooled request body) that the intake may move into storage instead of
    copying it (it may then be gone afterwards)."""

    path: Path
    sha256: str | None = None
    size: int | None = None
    disposable: bool = False


@dataclass(frozen=True, slots=True)
class ByteStream:
    """Bytes arriving; more than ``limit`` of them raises ``too_large``."""

    chunks: AsyncIterator[bytes]
    limit: int
    too_large: Exception


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object in storage no client can write any more; ``too_large`` past ``limit`` bytes.
    ``missing``: raised when there is no such object. ``promote``: the original is to be a
    storage-side copy of it (``CopyingStorage``) instead of the bytes stored again."""

    key: str
    limit: int
    too_large: Exception
    missing: Exception
    promote: bool = True


IntakeSource = LocalFile | ByteStream | StoredObject


@dataclass(frozen=True, slots=True)
class LocalBytes:
    """The source as a local file: ``stored_key`` when the same bytes are in storage already
    (the original can be a storage-side copy); ``spooled``: ``path`` is a temporary copy
    (it may be moved into storage as the original)."""

    path: Path
    size: int
    sha256: str
    stored_key: str | None = None
    spooled: bool = False


def hash_file(path: Path) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


def _write_hashed(handle: object, hasher: hashlib._Hash, data: bytes | bytearray) -> None:
    handle.write(data)  # type: ignore[attr-defined]
    hasher.update(data)


_NEW_FILE = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _new_file(directory: Path, prefix: str) -> tuple[int, Path]:
    """A new file of this process's only (mode 0600, as ``tempfile.mkstemp`` makes them,
    without its per-call path checks), in ``directory``, made again if it was removed."""
    path = directory / f"{prefix}{secrets.token_hex(8)}"
    try:
        return os.open(path, _NEW_FILE, 0o600), path
    except FileNotFoundError:  # the folder was removed since tmp_dir made it
        directory.mkdir(parents=True, exist_ok=True)
        return os.open(path, _NEW_FILE, 0o600), path


async def spool_hashed(
    chunks: AsyncIterator[bytes], directory: Path, limit: int, too_large: Exception
) -> tuple[Path, int, str]:
    """Write a byte stream to a temporary file and hash it in the same pass (one thread hop
    per MiB); raises ``too_large`` past ``limit`` bytes. Returns (path, size, sha256); the
    caller owns the file; on failure nothing is left."""
    fd, path = _new_file(directory, "spool-")
    hasher = hashlib.sha256()
    written = 0
    buffer = bytearray()
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in chunks:
                written += len(chunk)
                if written > limit:
                    raise too_large
                buffer += chunk
                if len(buffer) >= READ_CHUNK:
                    data = bytes(buffer)
                    buffer.clear()
                    await anyio.to_thread.run_sync(_write_hashed, handle, hasher, data)
            if len(buffer) <= INLINE_WRITE:
                # Cheaper here than the hand-off: waking a thread and passing it the GIL cost
                # the event loop more than writing and hashing a small photo (issue 21).
                _write_hashed(handle, hasher, buffer)
            else:
                await anyio.to_thread.run_sync(_write_hashed, handle, hasher, bytes(buffer))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, written, hasher.hexdigest()


async def file_chunks(path: Path, chunk_size: int = READ_CHUNK) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(chunk_size):
            yield chunk


async def spool(
    chunks: AsyncIterator[bytes], directory: Path, limit: int, too_large: Exception
) -> Path:
    """Write a byte stream to a temporary file, raising ``too_large`` past ``limit`` bytes.
    The caller owns (and deletes) the returned file; on failure nothing is left."""
    path, _, _ = await spool_hashed(chunks, directory, limit, too_large)
    return path


# The tmp folders made by this process, by data dir: made once, not on every upload (a
# mkdir that finds the folder raises and catches FileExistsError: 4 % of the event loop's
# time in an uploads-only load, issue 21). A spool re-makes one removed since.
_MADE: dict[Path, Path] = {}


def tmp_dir(ports: Settings) -> Path:
    """The data dir's ``tmp`` folder (made when missing), where intake and renditions spool."""
    data_dir = ports.core.data_dir
    path = _MADE.get(data_dir)
    if path is None:
        path = data_dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        _MADE[data_dir] = path
    return path


@contextlib.asynccontextmanager
async def local_bytes(
    source: IntakeSource, storage: StorageBackend, tmp: Path
) -> AsyncIterator[LocalBytes]:
    """``source`` as a local file for the duration of the block (temporary copies are removed
    afterwards, also on error)."""
    if isinstance(source, LocalFile):
        if source.sha256 is not None and source.size is not None:
            yield LocalBytes(source.path, source.size, source.sha256, spooled=source.disposable)
        else:
            sha256, size = await anyio.to_thread.run_sync(hash_file, source.path)
            yield LocalBytes(source.path, size, sha256, spooled=source.disposable)
        return
    if isinstance(source, StoredObject):
        in_place = await _stored_in_place(source, storage)
        if in_place is not None:
            yield in_place
            return
        chunks, limit, too_large = _opened(source, storage), source.limit, source.too_large
        stored_key: str | None = source.key if source.promote else None
    else:
        chunks, limit, too_large = source.chunks, source.limit, source.too_large
        stored_key = None
    path, size, sha256 = await spool_hashed(chunks, tmp, limit, too_large)
    try:
        yield LocalBytes(path, size, sha256, stored_key, spooled=True)
    finally:
        path.unlink(missing_ok=True)


async def _stored_in_place(source: StoredObject, storage: StorageBackend) -> LocalBytes | None:
    """Hash the object where it lies, when the storage keeps it in a local file."""
    if not storage.capabilities.local_paths:
        return None
    path = storage.local_path(source.key)
    if path is None:
        return None
    try:
        sha256, size = await anyio.to_thread.run_sync(hash_file, path)
    except FileNotFoundError:
        raise source.missing from None
    if size > source.limit:
        raise source.too_large
    return LocalBytes(path, size, sha256, source.key if source.promote else None)


async def _opened(source: StoredObject, storage: StorageBackend) -> AsyncIterator[bytes]:
    try:
        async for chunk in storage.open(source.key, chunk_size=READ_CHUNK):
            yield chunk
    except ObjectNotFound:
        raise source.missing from None


__all__ = [
    "ByteStream",
    "IntakeSource",
    "LocalBytes",
    "LocalFile",
    "StoredObject",
    "file_chunks",
    "hash_file",
    "local_bytes",
    "spool",
    "spool_hashed",
    "tmp_dir",
]
