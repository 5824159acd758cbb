"""Local storage beyond the contract: real write failures, pruning, readiness, registration."""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from salon.defaults import local_storage
from salon.defaults.local_storage import LocalStorage, validate_key
from salon.errors import ConfigurationError, StorageError
from salon.providers import ProviderContext
from salon.testing.contracts.storage import chunks_of, read_all


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


@pytest.fixture
def file_size_limit() -> Iterator[int]:
    """Make the kernel refuse writes past 1 MiB (EFBIG), as a full disk would refuse them."""
    limit = 1 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_write_error_becomes_storage_error_and_keeps_old(
    storage: LocalStorage, file_size_limit: int
) -> None:
    key = "originals/u1/photo"
    await storage.put(key, chunks_of(b"old bytes"), content_type="image/jpeg")
    with pytest.raises(StorageError) as caught:
        await storage.put(key, chunks_of(b"n" * (3 * file_size_limit)), content_type="image/jpeg")
    assert type(caught.value) is StorageError
    assert isinstance(caught.value.__cause__, OSError)
    assert "I/O failed" in str(caught.value)
    assert await read_all(storage, key) == b"old bytes"
    assert leftovers(storage.root) == ["originals/u1/photo"]  # no temporary file left


async def test_cancelled_upload_removes_temp_file(storage: LocalStorage) -> None:
    import anyio

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536
            await anyio.sleep(0.001)

    with anyio.move_on_after(0.2):
        await storage.put("c/endless", endless(), content_type="application/octet-stream")
    assert leftovers(storage.root) == []


async def test_put_reports_sha256_etag(storage: LocalStorage) -> None:
    import hashlib

    info = await storage.put("k", chunks_of(b"hello"), content_type="text/plain")
    assert info.etag == hashlib.sha256(b"hello").hexdigest()
    assert info.content_type == "text/plain"


async def test_written_file_is_not_private_and_is_complete(storage: LocalStorage) -> None:
    await storage.put("p/q", chunks_of(b"abc"), content_type="text/plain")
    path = storage.local_path("p/q")
    assert path == storage.root / "p" / "q"
    assert path.read_bytes() == b"abc"
    assert path.stat().st_mode & 0o044  # readable by the web server's group/others (umask)


async def test_delete_prunes_empty_folders_but_never_root(storage: LocalStorage) -> None:
    await storage.put("a/b/c/d", chunks_of(b"1"), content_type="text/plain")
    await storage.put("a/keep", chunks_of(b"2"), content_type="text/plain")
    await storage.delete("a/b/c/d")
    assert not (storage.root / "a" / "b").exists()
    assert (storage.root / "a" / "keep").exists()
    await storage.delete("a/keep")
    assert storage.root.is_dir()
    assert list(storage.root.iterdir()) == []


async def test_delete_of_a_folder_key_removes_nothing(storage: LocalStorage) -> None:
    await storage.put("dir/file", chunks_of(b"1"), content_type="text/plain")
    await storage.delete("dir")
    assert (storage.root / "dir" / "file").read_bytes() == b"1"


async def test_stat_of_folder_is_not_found(storage: LocalStorage) -> None:
    from salon.errors import ObjectNotFound

    await storage.put("dir/file", chunks_of(b"1"), content_type="text/plain")
    with pytest.raises(ObjectNotFound):
        await storage.stat("dir")
    with pytest.raises(ObjectNotFound):
        await read_all(storage, "dir")
    with pytest.raises(ObjectNotFound):
        await storage.stat("dir/file/below")


async def test_symlink_escape_is_not_followed_by_keys(storage: LocalStorage) -> None:
    # Keys cannot name ".." so the only way out would be a link planted by someone else.
    with pytest.raises(ValueError):
        storage.local_path("../outside")
    with pytest.raises(ValueError):
        validate_key(".tmp-sneaky")


@pytest.mark.parametrize("prefix", ["", "a", "a/", "a/b/"])
def test_valid_list_prefixes(prefix: str) -> None:
    assert validate_key(prefix, prefix=True) == prefix


async def test_check_creates_folder_and_detects_unwritable(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "new" / "media")
    await storage.check()
    assert storage.root.is_dir()
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        bad = LocalStorage(blocker / "media")  # root cannot write below a regular file either
    else:
        storage.root.chmod(0o500)
        bad = storage
    with pytest.raises(ConfigurationError) as caught:
        await bad.check()
    assert "not writable" in str(caught.value)


async def test_temp_files_are_hidden_from_list(storage: LocalStorage) -> None:
    await storage.put("x/real", chunks_of(b"1"), content_type="text/plain")
    (storage.root / "x" / ".tmp-abandoned").write_bytes(b"partial")
    assert [i.key async for i in storage.list("")] == ["x/real"]


def test_registered_as_local_under_data_dir(tmp_path: Path) -> None:
    offered: dict[str, object] = {}
    local_storage.register_storage_backends(register=lambda name, f: offered.setdefault(name, f))
    factory = offered["local"]
    backend = factory(ProviderContext(core=None, settings=None, data_dir=tmp_path))  # type: ignore[operator]
    assert isinstance(backend, LocalStorage)
    assert backend.root == (tmp_path / "media").resolve()
    assert backend.capabilities.local_paths
    assert not backend.capabilities.presigned_get
    assert not backend.capabilities.presigned_post


async def test_move_files_renames_into_keys_and_flushes_only_when_durable(
    storage: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``MovingStorage``: the files become the objects (no copy: same inode), replacing what
    was there; ``durable=False`` (renditions) skips every fsync, the default flushes."""
    from salon.providers import MovingStorage

    assert isinstance(storage, MovingStorage)
    await storage.put("r/a.webp", chunks_of(b"old"), content_type="image/webp")
    made = tmp_path / "out"
    made.mkdir()
    first, second = made / "sm.webp", made / "md.webp"
    first.write_bytes(b"small")
    second.write_bytes(b"medium!")
    inode = first.stat().st_ino
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])

    infos = await storage.move_files(
        [("r/a.webp", first, "image/webp"), ("r/b.webp", second, "image/webp")], durable=False
    )
    assert [(i.key, i.size) for i in infos] == [("r/a.webp", 5), ("r/b.webp", 7)]
    assert await read_all(storage, "r/a.webp") == b"small"
    assert storage.local_path("r/a.webp").stat().st_ino == inode
    assert storage.local_path("r/a.webp").stat().st_mode & 0o044
    assert not first.exists() and not second.exists()
    assert synced == []

    third = made / "lg.webp"
    third.write_bytes(b"large")
    await storage.move_files([("r/c.webp", third, "image/webp")])
    assert len(synced) == 2  # the file, then its folder
    assert leftovers(storage.root) == ["r/a.webp", "r/b.webp", "r/c.webp"]


async def test_move_files_copies_across_file_systems(
    storage: LocalStorage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a rename cannot cross devices (EXDEV), the bytes are copied in and the source
    removed: same result, nothing left behind."""
    import errno

    real_replace = os.replace

    def replace(source: object, target: object) -> None:
        if not str(source).startswith(str(storage.root)):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    source = tmp_path / "elsewhere.webp"
    source.write_bytes(b"bytes from another disk")
    infos = await storage.move_files([("x/y.webp", source, "image/webp")])
    assert infos[0].size == 23
    assert await read_all(storage, "x/y.webp") == b"bytes from another disk"
    assert not source.exists()
    assert leftovers(storage.root) == ["x/y.webp"]
