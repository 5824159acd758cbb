"""Built-in storage backend ``local``: objects are files under ``<data_dir>/media``.

Writes are atomic: the bytes go to a temporary file in the target's own folder, are flushed to
disk (fsync) and then renamed over the target with ``os.replace``, so a reader sees the old
object or the new one, never a mix, and a failed write leaves the old object untouched. File
I/O runs in worker threads so the event loop never blocks on the disk.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import mimetypes
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import IO, Final, TypeVar

import anyio
from anyio import to_thread

from salon import hookimpl
from salon.errors import ConfigurationError, ObjectNotFound, StorageError
from salon.providers import (
    ObjectInfo,
    PresignedPost,
    ProviderContext,
    RegisterStorageBackend,
    StorageCapabilities,
    validate_key,
)

__all__ = ["LocalStorage", "validate_key"]

_T = TypeVar("_T")

# Writes are batched to about this size before each trip to a worker thread, which keeps the
# number of thread hops low for small chunks while bounding the memory a put holds.
_WRITE_BATCH: Final = 1 << 20
_TMP_PREFIX: Final = ".tmp-"


class LocalStorage:
    """A :class:`~salon.providers.StorageBackend` on a local folder."""

    capabilities = StorageCapabilities(
        presigned_post=False, presigned_get=False, local_paths=True, copy=True
    )

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    @classmethod
    def from_context(cls, context: ProviderContext) -> LocalStorage:
        """The factory the plugin registers: the folder is ``<data_dir>/media``."""
        return cls(Path(context.data_dir) / "media")

    # ------------------------------------------------------------------ paths

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def local_path(self, key: str) -> Path:
        """The file that holds (or would hold) ``key``; no I/O, so it may not exist yet."""
        return self._path(key)

    # ------------------------------------------------------------------ writes

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str) -> ObjectInfo:
        """Stream ``chunks`` into ``key`` atomically; return its size and sha256 (as etag)."""
        target = self._path(key)
        handle, tmp_path = await _in_thread(lambda: _open_temp(self.root, target))
        digest = hashlib.sha256()
        size = 0
        buffer = bytearray()
        try:
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= _WRITE_BATCH:
                    data = bytes(buffer)
                    buffer.clear()
                    size += len(data)
                    await _in_thread(_write, handle, digest, data)
            data = bytes(buffer)
            buffer.clear()
            size += len(data)
            await _in_thread(lambda: _finish(handle, digest, data, tmp_path, target))
        except BaseException:
            # Shielded: a cancelled upload must still remove its temporary file.
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(_discard, handle, tmp_path)
            raise
        modified = dt.datetime.now(dt.UTC)
        return ObjectInfo(key, size, content_type, digest.hexdigest(), modified)

    async def copy(self, source: str, dest: str, *, content_type: str) -> ObjectInfo:
        """A hard link under a temporary name, renamed over ``dest`` (a byte copy where the
        file system has no links). Writes replace files, never change them in place, so the
        two keys stay independent."""
        src, target = self._path(source), self._path(dest)
        await _in_thread(lambda: _copy_file(self.root, source, src, target))
        return ObjectInfo(dest, (await self.stat(dest)).size, content_type, None)

    async def move_files(
        self, files: Sequence[tuple[str, Path, str]], *, durable: bool = True
    ) -> list[ObjectInfo]:
        """Rename local files into their keys (``MovingStorage``), all in one trip to a
        thread: renditions come from a folder beside this one, so no byte is copied. Without
        ``durable`` neither the files nor their folders are flushed to disk: for derived data
        only (a crash may leave such a file short; the core remakes it)."""
        sizes = await _in_thread(self.move_here, files, durable)
        modified = dt.datetime.now(dt.UTC)
        return [
            ObjectInfo(key, size, content_type, None, modified)
            for (key, _, content_type), size in zip(files, sizes, strict=True)
        ]

    def move_here(self, files: Sequence[tuple[str, Path, str]], durable: bool = True) -> list[int]:
        """:meth:`move_files` on the calling thread (no event loop needed: a media worker
        process places the renditions it made itself); returns the sizes."""
        try:
            return [
                _move_in(self.root, Path(path), self._path(key), durable) for key, path, _ in files
            ]
        except (StorageError, ValueError):
            raise
        except OSError as exc:
            raise StorageError(f"local storage I/O failed: {exc.strerror or exc}") from exc

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is fine. Empty parent folders are pruned, never root."""
        path = self._path(key)
        await _in_thread(lambda: _unlink_and_prune(self.root, path))

    # ------------------------------------------------------------------ reads

    async def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        st = await _in_thread(lambda: _stat_file(key, path))
        content_type, _ = mimetypes.guess_type(path.name)
        modified = dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)
        return ObjectInfo(key, st.st_size, content_type, None, modified)

    async def open(self, key: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """Stream ``key`` in chunks; raises ObjectNotFound before the first chunk if missing.

        The file is opened once, so a concurrent overwrite does not mix old and new bytes.
        """
        path = self._path(key)
        handle = await _in_thread(lambda: _open_read(key, path))
        try:
            while True:
                chunk = await _in_thread(lambda: handle.read(chunk_size))
                if not chunk:
                    return
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(handle.close)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Objects whose key starts with ``prefix`` (a plain string prefix, as on S3), sorted."""
        validate_key(prefix, prefix=True)
        found = await _in_thread(lambda: _walk(self.root, prefix))
        for key, size, mtime in found:
            modified = dt.datetime.fromtimestamp(mtime, dt.UTC)
            yield ObjectInfo(key, size, mimetypes.guess_type(key)[0], None, modified)

    # ------------------------------------------------------------------ capabilities

    async def presign_get(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        raise StorageError("local storage has no presigned URLs (capabilities.presigned_get)")

    async def presign_post(
        self, key: str, *, content_type: str, max_size: int, expires_in: int
    ) -> PresignedPost:
        raise StorageError("local storage has no presigned uploads (capabilities.presigned_post)")

    async def check(self) -> None:
        """Readiness: the folder exists (made if needed) and a file can be written in it."""
        try:
            await to_thread.run_sync(_probe, self.root)
        except OSError as exc:
            raise ConfigurationError(
                f"storage folder {self.root} is not writable: {exc.strerror or exc}"
            ) from exc


# ---------------------------------------------------------------------- blocking helpers


async def _in_thread(func: Callable[..., _T], *args: object) -> _T:
    """Run blocking file work in a thread; OSErrors become StorageError (ObjectNotFound kept)."""
    try:
        return await to_thread.run_sync(func, *args)
    except (StorageError, ValueError):
        raise
    except OSError as exc:
        raise StorageError(f"local storage I/O failed: {exc.strerror or exc}") from exc


def _open_temp(root: Path, target: Path) -> tuple[IO[bytes], Path]:
    # A concurrent delete may prune the freshly made parent folder; try again a few times.
    for attempt in range(3):
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd, name = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=target.parent)
        except FileNotFoundError:
            if attempt == 2:
                raise
            continue
        return os.fdopen(fd, "wb"), Path(name)
    raise AssertionError("unreachable")


def _write(handle: IO[bytes], digest: hashlib._Hash, data: bytes) -> None:
    handle.write(data)
    digest.update(data)


def _finish(handle: IO[bytes], digest: hashlib._Hash, data: bytes, tmp: Path, target: Path) -> None:
    if data:
        _write(handle, digest, data)
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    # mkstemp makes 0600 files; objects get the usual 0644 (umask permitting).
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def _copy_file(root: Path, key: str, source: Path, target: Path) -> None:
    _stat_file(key, source)
    handle, tmp = _open_temp(root, target)
    handle.close()
    try:
        tmp.unlink()
        try:
            os.link(source, tmp)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except OSError:  # no hard links here (another device, some network file systems)
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _move_in(root: Path, source: Path, target: Path, durable: bool) -> int:
    """``source`` renamed over ``target`` (copied first where the rename cannot cross file
    systems); returns its size."""
    size = source.stat().st_size
    if durable:
        with source.open("rb") as handle:
            os.fsync(handle.fileno())
    os.chmod(source, 0o644)
    for attempt in range(3):  # a concurrent delete may prune the fresh parent folder
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
            break
        except FileNotFoundError:
            if attempt == 2 or not source.exists():
                raise
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            _copy_in(root, source, target, durable)
            break
    if durable:
        _fsync_dir(target.parent)
    return size


def _copy_in(root: Path, source: Path, target: Path, durable: bool) -> None:
    """``source`` copied over ``target`` atomically, then removed (another file system)."""
    out, tmp = _open_temp(root, target)
    try:
        with out, source.open("rb") as data:
            shutil.copyfileobj(data, out)
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    source.unlink()


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not every file system allows it, which is harmless.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _discard(handle: IO[bytes], tmp: Path) -> None:
    with contextlib.suppress(OSError):
        handle.close()
    tmp.unlink(missing_ok=True)


def _unlink_and_prune(root: Path, path: Path) -> None:
    try:
        path.unlink()
    except (FileNotFoundError, NotADirectoryError):
        pass
    except IsADirectoryError:
        return  # a "prefix", not an object: never removed by delete
    folder = path.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            return
        folder = folder.parent


def _stat_file(key: str, path: Path) -> os.stat_result:
    try:
        st = path.stat()
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ObjectNotFound(key) from exc
    if not path.is_file():
        raise ObjectNotFound(key)
    return st


def _open_read(key: str, path: Path) -> IO[bytes]:
    try:
        handle = path.open("rb")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
        raise ObjectNotFound(key) from exc
    if not os.path.isfile(handle.name):
        handle.close()
        raise ObjectNotFound(key)
    return handle


def _walk(root: Path, prefix: str) -> list[tuple[str, int, float]]:
    # Start at the deepest folder the prefix names, then filter by the full string prefix.
    folder_part = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    start = root.joinpath(*folder_part.split("/")) if folder_part else root
    found: list[tuple[str, int, float]] = []
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel = os.path.relpath(dirpath, root)
        base = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        for name in filenames:
            key = base + name
            if name.startswith(".") or not key.startswith(prefix):
                continue
            try:
                st = os.stat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue  # deleted while walking
            found.append((key, st.st_size, st.st_mtime))
    found.sort()
    return found


def _probe(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(prefix=_TMP_PREFIX + "probe-", dir=root) as handle:
        handle.write(b"ok")
        handle.flush()


# ---------------------------------------------------------------------- plugin hooks


@hookimpl
def register_storage_backends(register: RegisterStorageBackend) -> None:
    """Offer ``local``: files under ``<SALON_DATA_DIR>/media``."""
    register("local", LocalStorage.from_context)
