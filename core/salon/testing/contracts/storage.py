"""The StorageBackend contract suite.

Subclass :class:`StorageContract` in a test module (the subclass name must start with ``Test``)
and supply a ``storage`` fixture that returns your backend::

    from salon.testing.contracts.storage import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            return MyStorage(tmp_path)

Every test works under its own random key prefix and removes what it wrote, so ``storage`` may
be shared (session scope) and may point at a real bucket. The tests are ``async`` and expect
pytest-asyncio in auto mode (``asyncio_mode = "auto"``).

Class attributes tune the suite for slow or remote backends: ``large_object_size`` (bytes
streamed through ``put`` and ``open`` without being held in memory), ``stream_memory_budget``
(the most the Python heap may grow meanwhile, measured with tracemalloc) and
``failing_upload_size`` (bytes sent before an upload fails; set it above a multipart threshold
to exercise that path).
"""

from __future__ import annotations

import hashlib
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import anyio
import anyio.lowlevel
import pytest

from salon.errors import ObjectNotFound, SalonError, StorageError
from salon.providers import CopyingStorage, ObjectInfo, StorageBackend

__all__ = [
    "StorageContract",
    "UploadFailed",
    "chunks_of",
    "collect",
    "pattern_chunks",
    "read_all",
]

MiB = 1 << 20


class UploadFailed(Exception):
    """Raised by the test's chunk iterator to simulate a client that goes away mid-upload."""


async def chunks_of(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Yield ``data`` in ``size`` pieces, as a request body would arrive."""
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await anyio.lowlevel.checkpoint()


async def pattern_chunks(
    total: int, chunk: int = 64 * 1024, *, fail: bool = False
) -> AsyncIterator[bytes]:
    """Yield ``total`` bytes of a repeating pattern, made as they go (never all at once); raise
    :class:`UploadFailed` at the end when ``fail``."""
    block = _pattern(chunk)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece
    if fail:
        raise UploadFailed("client went away")


def _pattern(size: int) -> bytes:
    seed = b"salon-storage-contract:"
    return (seed * (size // len(seed) + 1))[:size]


def _pattern_digest(total: int, chunk: int = 64 * 1024) -> str:
    digest = hashlib.sha256()
    block = _pattern(chunk)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        digest.update(piece)
        sent += len(piece)
    return digest.hexdigest()


async def read_all(storage: StorageBackend, key: str) -> bytes:
    """Read a (small) object fully."""
    out = bytearray()
    async for chunk in storage.open(key):
        out += chunk
    return bytes(out)


async def collect(storage: StorageBackend, prefix: str) -> list[ObjectInfo]:
    """Everything ``list(prefix)`` yields."""
    return [info async for info in storage.list(prefix)]


class StorageContract:
    """Reusable tests for any :class:`~salon.providers.StorageBackend`; see the module doc."""

    large_object_size: ClassVar[int] = 64 * MiB
    stream_memory_budget: ClassVar[int] = 16 * MiB
    failing_upload_size: ClassVar[int] = 2 * MiB

    @pytest.fixture
    def storage(self) -> StorageBackend:
        """Override in the subclass: return the backend under test."""
        raise NotImplementedError("a StorageContract subclass must define a `storage` fixture")

    @pytest.fixture
    async def storage_prefix(self, storage: StorageBackend) -> AsyncIterator[str]:
        """A fresh key prefix; whatever a test leaves under it is deleted afterwards."""
        value = f"contract/{uuid.uuid4().hex}/"
        yield value
        async for info in storage.list(value):
            await storage.delete(info.key)

    # ------------------------------------------------------------------ basics

    def test_satisfies_protocol(self, storage: StorageBackend) -> None:
        assert isinstance(storage, StorageBackend)
        caps = storage.capabilities
        assert isinstance(caps.presigned_get, bool)
        assert isinstance(caps.presigned_post, bool)
        assert isinstance(caps.local_paths, bool)

    async def test_round_trip(self, storage: StorageBackend, storage_prefix: str) -> None:
        data = bytes(range(256)) * 1000 + b"tail"
        key = storage_prefix + "a/b/object.bin"
        info = await storage.put(key, chunks_of(data), content_type="application/octet-stream")
        assert info.key == key
        assert info.size == len(data)
        assert await read_all(storage, key) == data
        stat = await storage.stat(key)
        assert stat.key == key
        assert stat.size == len(data)
        assert stat.content_type in (None, "application/octet-stream")

    async def test_empty_object(self, storage: StorageBackend, storage_prefix: str) -> None:
        key = storage_prefix + "empty"
        info = await storage.put(key, chunks_of(b""), content_type="text/plain")
        assert info.size == 0
        assert (await storage.stat(key)).size == 0
        assert await read_all(storage, key) == b""

    async def test_open_honours_chunk_size(
        self, storage: StorageBackend, storage_prefix: str
    ) -> None:
        data = b"x" * 100_000
        key = storage_prefix + "chunked"
        await storage.put(key, chunks_of(data), content_type="application/octet-stream")
        sizes = [len(chunk) async for chunk in storage.open(key, chunk_size=10_000)]
        assert sum(sizes) == len(data)
        assert max(sizes) <= 10_000

    async def test_overwrite_replaces_content(
        self, storage: StorageBackend, storage_prefix: str
    ) -> None:
        key = storage_prefix + "over"
        await storage.put(key, chunks_of(b"first version"), content_type="text/plain")
        info = await storage.put(key, chunks_of(b"second"), content_type="text/plain")
        assert info.size == len(b"second")
        assert await read_all(storage, key) == b"second"
        assert (await storage.stat(key)).size == len(b"second")
        assert [i.key for i in await collect(storage, storage_prefix)] == [key]

    async def test_reader_sees_old_or_new_never_a_mix(
        self, storage: StorageBackend, storage_prefix: str
    ) -> None:
        key = storage_prefix + "atomic"
        old, new = b"a" * (2 * MiB), b"b" * (2 * MiB)
        await storage.put(key, chunks_of(old), content_type="application/octet-stream")
        received = bytearray()
        stream = storage.open(key, chunk_size=64 * 1024)
        received += await stream.__anext__()
        async with anyio.create_task_group() as tg:
            # The overwrite runs while the first reader is mid-stream.
            tg.start_soon(self._put_bytes, storage, key, new)
            async for chunk in stream:
                received += chunk
        assert bytes(received) in (old, new)
        assert await read_all(storage, key) == new

    @staticmethod
    async def _put_bytes(storage: StorageBackend, key: str, data: bytes) -> None:
        await storage.put(key, chunks_of(data), content_type="application/octet-stream")

    # ------------------------------------------------------------------ missing keys, delete

    async def test_missing_key(self, storage: StorageBackend, storage_prefix: str) -> None:
        key = storage_prefix + "nothing-here"
        with pytest.raises(ObjectNotFound):
            await storage.stat(key)
        stream = storage.open(key)
        with pytest.raises(ObjectNotFound):
            await stream.__anext__()
        assert issubclass(ObjectNotFound, StorageError)
        assert issubclass(ObjectNotFound, FileNotFoundError)

    async def test_delete_is_idempotent(self, storage: StorageBackend, storage_prefix: str) -> None:
        key = storage_prefix + "d/gone"
        keep = storage_prefix + "d/kept"
        await storage.put(key, chunks_of(b"bye"), content_type="text/plain")
        await storage.put(keep, chunks_of(b"stay"), content_type="text/plain")
        await storage.delete(key)
        with pytest.raises(ObjectNotFound):
            await storage.stat(key)
        await storage.delete(key)  # again: not an error
        await storage.delete(storage_prefix + "never/existed")
        assert await read_all(storage, keep) == b"stay"

    async def test_list_by_prefix(self, storage: StorageBackend, storage_prefix: str) -> None:
        keys = [
            storage_prefix + k for k in ("img/1/a", "img/1/b", "img/10/a", "img/2/a", "other/x")
        ]
        for i, key in enumerate(keys):
            await storage.put(key, chunks_of(b"z" * (i + 1)), content_type="text/plain")
        listed = await collect(storage, storage_prefix + "img/1")
        assert sorted(i.key for i in listed) == keys[:3]  # a string prefix, as on S3
        listed = await collect(storage, storage_prefix + "img/1/")
        assert sorted(i.key for i in listed) == keys[:2]
        by_key = {i.key: i.size for i in await collect(storage, storage_prefix)}
        assert by_key == {key: i + 1 for i, key in enumerate(keys)}
        assert await collect(storage, storage_prefix + "nope/") == []

    # ------------------------------------------------------------------ failures

    async def test_failing_upload_leaves_nothing(
        self, storage: StorageBackend, storage_prefix: str
    ) -> None:
        key = storage_prefix + "fail/new"
        with pytest.raises(UploadFailed):
            await storage.put(
                key,
                pattern_chunks(self.failing_upload_size, fail=True),
                content_type="application/octet-stream",
            )
        with pytest.raises(ObjectNotFound):
            await storage.stat(key)
        assert await collect(storage, storage_prefix + "fail/") == []

    async def test_failing_overwrite_keeps_old(
        self, storage: StorageBackend, storage_prefix: str
    ) -> None:
        key = storage_prefix + "fail/old"
        await storage.put(key, chunks_of(b"precious"), content_type="text/plain")
        with pytest.raises(UploadFailed):
            await storage.put(
                key,
                pattern_chunks(self.failing_upload_size, fail=True),
                content_type="text/plain",
            )
        assert await read_all(storage, key) == b"precious"
        assert [i.key for i in await collect(storage, storage_prefix + "fail/")] == [key]

    @pytest.mark.parametrize(
        "bad_key",
        ["", "/absolute", "../escape", "a/../../b", "a\\b", "a//b", "caf\u00e9", "a/./b", "a\x00b"],
    )
    async def test_unsafe_keys_are_refused(self, storage: StorageBackend, bad_key: str) -> None:
        with pytest.raises(ValueError):
            await storage.put(bad_key, chunks_of(b"x"), content_type="text/plain")
        with pytest.raises(ValueError):
            await storage.stat(bad_key)
        with pytest.raises(ValueError):
            await storage.open(bad_key).__anext__()
        with pytest.raises(ValueError):
            await storage.delete(bad_key)

    # ------------------------------------------------------------------ streaming

    async def test_large_object_streams_in_bounded_memory(
        self, storage: StorageBackend, storage_prefix: str
    ) -> None:
        key = storage_prefix + "large.bin"
        total = self.large_object_size
        # Warm up first: a backend may load libraries or make its client on first use.
        await storage.put(storage_prefix + "warm-up", chunks_of(b"w"), content_type="text/plain")
        assert await read_all(storage, storage_prefix + "warm-up") == b"w"
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            info = await storage.put(
                key, pattern_chunks(total), content_type="application/octet-stream"
            )
            digest = hashlib.sha256()
            received = 0
            async for chunk in storage.open(key, chunk_size=256 * 1024):
                digest.update(chunk)
                received += len(chunk)
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
        assert info.size == total
        assert received == total
        assert digest.hexdigest() == _pattern_digest(total)
        assert peak < self.stream_memory_budget, (
            f"moving {total} bytes grew the heap by {peak} bytes "
            f"(budget {self.stream_memory_budget}): the object was buffered"
        )

    # ------------------------------------------------------------------ capabilities

    async def test_capabilities_are_consistent(
        self, storage: StorageBackend, storage_prefix: str, tmp_path: Path
    ) -> None:
        import httpx

        data = b"\x89PNG fake but fine" * 100
        key = storage_prefix + "caps/photo.bin"
        await storage.put(key, chunks_of(data), content_type="application/octet-stream")
        caps = storage.capabilities
        if caps.presigned_get:
            url = await storage.presign_get(key, expires_in=60)
            assert url.startswith(("http://", "https://"))
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.get(url)
                assert response.status_code == 200
                assert response.content == data
                named = await storage.presign_get(key, expires_in=60, filename="holiday.jpg")
                response = await client.get(named)
                assert response.status_code == 200
                assert "holiday.jpg" in response.headers.get("content-disposition", "")
        else:
            with pytest.raises(StorageError):
                await storage.presign_get(key, expires_in=60)
        if caps.presigned_post:
            target = storage_prefix + "caps/posted.bin"
            form = await storage.presign_post(
                target, content_type="image/jpeg", max_size=10_000, expires_in=60
            )
            assert form.url.startswith(("http://", "https://"))
            assert all(isinstance(v, str) for v in form.fields.values())
            async with httpx.AsyncClient(timeout=30) as client:
                response = await client.post(
                    form.url,
                    data=dict(form.fields),
                    files={"file": ("x.jpg", b"\xff\xd8\xff" + b"0" * 500, "image/jpeg")},
                )
            assert response.status_code in (200, 201, 204), response.text
            assert (await storage.stat(target)).size == 503
        else:
            with pytest.raises(StorageError):
                await storage.presign_post(
                    storage_prefix + "caps/posted",
                    content_type="image/jpeg",
                    max_size=10,
                    expires_in=60,
                )
        if caps.local_paths:
            path = storage.local_path(key)
            assert path is not None
            assert path.read_bytes() == data
        else:
            assert storage.local_path(key) is None
        if not (caps.presigned_get or caps.local_paths):
            # Neither redirect nor sendfile: the core proxies through open(), which must work.
            assert await read_all(storage, key) == data

    async def test_copy(self, storage: StorageBackend, storage_prefix: str) -> None:
        """``capabilities.copy``: the copy holds the same bytes under the new content type,
        the source is unchanged, and later writes to either key leave the other alone. A
        backend without the capability must not claim it."""
        if not storage.capabilities.copy:
            pytest.skip(f"{type(storage).__name__} does not offer capabilities.copy")
        assert isinstance(storage, CopyingStorage), "capabilities.copy without a copy method"
        source, dest = storage_prefix + "copy/source", storage_prefix + "copy/dest"
        data = _pattern(300 * 1024)
        await storage.put(source, chunks_of(data), content_type="application/octet-stream")
        await storage.put(dest, chunks_of(b"old"), content_type="text/plain")
        info = await storage.copy(source, dest, content_type="image/jpeg")
        assert info.key == dest and info.size == len(data)
        assert await read_all(storage, dest) == data
        assert await read_all(storage, source) == data
        await storage.put(source, chunks_of(b"changed"), content_type="text/plain")
        assert await read_all(storage, dest) == data, "a write to the source changed the copy"
        await storage.delete(source)
        assert await read_all(storage, dest) == data, "deleting the source removed the copy"
        with pytest.raises(ObjectNotFound):
            await storage.copy(source, dest, content_type="image/jpeg")
        assert await read_all(storage, dest) == data, "a failed copy changed the destination"

    async def test_concurrent_readers_get_their_own_bytes(
        self, storage: StorageBackend, storage_prefix: str
    ) -> None:
        """Many readers at once, of one object and of different ones, interleaving their
        chunks: a backend that shares one handle or buffer between readers mixes them up."""
        objects = {
            storage_prefix + f"readers/{n}": bytes([n]) * (256 * 1024 + n) for n in range(1, 5)
        }
        for key, data in objects.items():
            await storage.put(key, chunks_of(data), content_type="application/octet-stream")
        jobs = [key for key in objects for _ in range(3)]
        results: dict[int, bytes] = {}

        async def read(n: int, key: str) -> None:
            out = bytearray()
            async for chunk in storage.open(key, chunk_size=16 * 1024):
                out += chunk
                await anyio.lowlevel.checkpoint()  # let the other readers take turns
            results[n] = bytes(out)

        async with anyio.create_task_group() as tg:
            for n, key in enumerate(jobs):
                tg.start_soon(read, n, key)
        for n, key in enumerate(jobs):
            assert results[n] == objects[key], f"reader {n} of {key} got other bytes"

    async def test_upload_in_progress_is_not_listed(
        self, storage: StorageBackend, storage_prefix: str
    ) -> None:
        """Until ``put`` returns, the object is neither listed nor found: the core's cleanup
        and listings must never see half an object."""
        key = storage_prefix + "inflight/object"
        sent, release = anyio.Event(), anyio.Event()

        async def slow() -> AsyncIterator[bytes]:
            yield _pattern(64 * 1024)
            sent.set()
            await release.wait()
            yield _pattern(64 * 1024)

        async with anyio.create_task_group() as tg:
            tg.start_soon(self._put_stream, storage, key, slow())
            await sent.wait()
            await anyio.sleep(0.05)
            listed = [info.key for info in await collect(storage, storage_prefix)]
            assert listed == [], f"listed while being uploaded: {listed}"
            with pytest.raises(ObjectNotFound):
                await storage.stat(key)
            release.set()
        assert [info.key for info in await collect(storage, storage_prefix)] == [key]

    @staticmethod
    async def _put_stream(storage: StorageBackend, key: str, chunks: AsyncIterator[bytes]) -> None:
        await storage.put(key, chunks, content_type="application/octet-stream")

    async def test_check_passes(self, storage: StorageBackend) -> None:
        await storage.check()

    async def test_errors_are_salons(self, storage: StorageBackend, storage_prefix: str) -> None:
        # Whatever fails inside the backend reaches the core as a Salon error type.
        try:
            await storage.stat(storage_prefix + "missing/for/errors")
        except Exception as exc:
            assert isinstance(exc, SalonError), f"{type(exc).__module__}.{type(exc).__name__}"
        else:
            pytest.fail("stat of a missing key returned")
