"""The ``sharded`` storage backend: every object is one file in a flat, sharded folder.

``originals/u1/photo.jpg`` is stored as ``<root>/3f/originals%2Fu1%2Fphoto.jpg``: the name is the
key with ``/`` percent-encoded (no nested folders to create or prune) and ``3f`` is the start of
the key's SHA-256 (so no folder grows huge). Writes go to a temporary file beside the target and
are renamed over it, so readers see the old object or the new one, never a mix, and a failed
write leaves nothing behind. Disk I/O runs in worker threads: the event loop never waits on it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path
from typing import IO, Final, TypeVar

from anyio import to_thread
from salon.errors import ConfigurationError, ObjectNotFound, StorageError
from salon.providers import ObjectInfo, PresignedPost, ProviderContext, StorageCapabilities

from salon_example_plugin.keys import decode_name, encode_name, shard_of, validate_key
from salon_example_plugin.settings import ExampleSettings

__all__ = ["ShardedStorage"]

_T = TypeVar("_T")
_TMP_PREFIX: Final = ".tmp-"
# Small request-body chunks are gathered to about this size per trip to a worker thread.
_WRITE_BATCH: Final = 1 << 20


class ShardedStorage:
    """A :class:`salon.providers.StorageBackend` on a local folder of sharded flat files."""

    capabilities = StorageCapabilities(presigned_post=False, presigned_get=False, local_paths=True)

    def __init__(self, root: Path, *, shard_width: int = 2) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.shard_width = shard_width

    @classmethod
    def from_context(cls, context: ProviderContext) -> ShardedStorage:
        """The factory the plugin registers; called once at start-up when selected."""
        settings = context.settings_as(ExampleSettings)
        root = Path(settings.root) if settings.root else Path(context.data_dir) / "sharded"
        try:
            return cls(root, shard_width=settings.shard_width)
        except OSError as exc:
            # A start-up error: the core prints it, naming this provider and plugin.
            raise ConfigurationError(f"cannot create SALON_EXAMPLE_ROOT {root}: {exc}") from exc

    def __repr__(self) -> str:
        return f"ShardedStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        validate_key(key)
        return self.root / shard_of(key, self.shard_width) / encode_name(key)

    # ------------------------------------------------------------------ writing

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str) -> ObjectInfo:
        target = self._path(key)
        handle = await _io(_open_temp, target.parent)
        size = 0
        try:
            batch = bytearray()
            async for chunk in chunks:
                batch += chunk
                size += len(chunk)
                if len(batch) >= _WRITE_BATCH:
                    await _io(handle.write, bytes(batch))
                    batch.clear()
            await _io(_finish, handle, bytes(batch), target)
        except BaseException:
            # Whatever stopped the upload (the client, a cancel), nothing stays behind.
            await to_thread.run_sync(_discard, handle)
            raise
        return ObjectInfo(key=key, size=size, content_type=content_type)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await _io(lambda: path.unlink(missing_ok=True))

    # ------------------------------------------------------------------ reading

    async def open(self, key: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        path = self._path(key)
        handle = await _io(_open_existing, path, key)
        try:
            while chunk := await _io(handle.read, chunk_size):
                yield chunk
        finally:
            await to_thread.run_sync(handle.close)

    async def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        result = await _io(_stat, path, key)
        modified = dt.datetime.fromtimestamp(result.st_mtime, dt.UTC)
        return ObjectInfo(key=key, size=result.st_size, last_modified=modified)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        validate_key(prefix, prefix=True)
        for key, size in await _io(_scan, self.root, prefix):
            yield ObjectInfo(key=key, size=size)

    def local_path(self, key: str) -> Path | None:
        """Files are local: the core may hand them to the OS (sendfile) instead of streaming."""
        return self._path(key)

    # ------------------------------------------------------------------ not offered

    async def presign_get(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        raise StorageError("the sharded backend has no presigned URLs (presigned_get is False)")

    async def presign_post(
        self, key: str, *, content_type: str, max_size: int, expires_in: int
    ) -> PresignedPost:
        raise StorageError("the sharded backend takes no direct uploads (presigned_post is False)")

    # ------------------------------------------------------------------ readiness

    async def check(self) -> None:
        def probe() -> None:
            with tempfile.TemporaryFile(dir=self.root, prefix=_TMP_PREFIX):
                pass

        try:
            await to_thread.run_sync(probe)
        except OSError as exc:
            raise ConfigurationError(f"sharded storage at {self.root} is not writable") from exc


# ---------------------------------------------------------------------- blocking helpers


async def _io(function: Callable[..., _T], *args: object) -> _T:
    """Run blocking file work in a thread; OS errors become Salon's StorageError."""
    try:
        return await to_thread.run_sync(function, *args)
    except (ObjectNotFound, StorageError, ValueError):
        raise
    except OSError as exc:
        raise StorageError(f"sharded storage: {exc.strerror or exc}") from exc


def _open_temp(folder: Path) -> IO[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    return tempfile.NamedTemporaryFile(dir=folder, prefix=_TMP_PREFIX, delete=False)


def _finish(handle: IO[bytes], tail: bytes, target: Path) -> None:
    handle.write(tail)
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(handle.name, target)  # atomic on POSIX: readers see old or new


def _discard(handle: IO[bytes]) -> None:
    handle.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(handle.name)


def _open_existing(path: Path, key: str) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise ObjectNotFound(key) from None


def _stat(path: Path, key: str) -> os.stat_result:
    try:
        return path.stat()
    except FileNotFoundError:
        raise ObjectNotFound(key) from None


def _scan(root: Path, prefix: str) -> list[tuple[str, int]]:
    # Sharding spreads a prefix over every folder: a full scan, fine for an example.
    found: list[tuple[str, int]] = []
    if not root.is_dir():  # nothing written yet
        return found
    for shard in root.iterdir():
        if not shard.is_dir():
            continue
        for entry in os.scandir(shard):
            if entry.name.startswith(_TMP_PREFIX):
                continue
            key = decode_name(entry.name)
            if key.startswith(prefix):
                with contextlib.suppress(FileNotFoundError):  # deleted meanwhile
                    found.append((key, entry.stat().st_size))
    return sorted(found)
