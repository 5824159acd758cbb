"""Fault-injection parts for tests/faults: test plugins offering a storage backend and a job
queue that fail on demand (wrapping the real built-in ones), and the "nothing was lost, nothing
was left" check every fault test ends with."""

from __future__ import annotations

import io
import itertools
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
from PIL import Image
from salon import hookimpl
from salon.db.models import Image as ImageRow
from salon.db.models import Job
from salon.defaults.local_queue import LocalQueue
from salon.defaults.local_storage import LocalStorage
from salon.doctor import diagnose
from salon.errors import QueueUnavailable, StorageError
from salon.providers import (
    SHORT,
    ObjectInfo,
    PresignedPost,
    ProviderContext,
    StorageCapabilities,
)
from salon.testing.fixtures import RunningApp
from sqlalchemy import func, select

T = TypeVar("T")
_colors = itertools.count(1)


def distinct_jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    """A small JPEG whose bytes differ from every other one this process made."""
    n = next(_colors)
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (n % 251, (n * 7) % 253, (n * 13) % 255))
    image.putpixel((0, 0), (n % 256, (n >> 8) % 256, 7))
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


@dataclass
class Switch:
    """What to break. ``fail_put_at``: the n-th put from now on fails (1 = the next one);
    ``fail_puts``: every put fails; ``fail_reads``: stat and open fail; ``on_put``: a callback run
    before the n-th put (to cut something else at exactly that moment)."""

    fail_puts: bool = False
    fail_put_at: int | None = None
    fail_reads: bool = False
    on_put: dict[int, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    puts: int = 0

    def reset(self) -> None:
        self.fail_puts = self.fail_reads = False
        self.fail_put_at = None
        self.on_put.clear()
        self.puts = 0


class FlakyStorage:
    """The local backend, with failures injected in front of it as ``StorageError`` (what a
    backend raises when its disk, network or service fails). No local paths, so downloads go
    through ``stat``/``open`` where the read failures are."""

    capabilities = StorageCapabilities()

    def __init__(self, inner: LocalStorage, switch: Switch) -> None:
        self.inner = inner
        self.switch = switch

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str) -> ObjectInfo:
        self.switch.puts += 1
        n = self.switch.puts
        hook = self.switch.on_put.get(n)
        if hook is not None:
            await hook()
        if self.switch.fail_puts or self.switch.fail_put_at == n:
            raise StorageError(f"injected write failure on put #{n}")
        return await self.inner.put(key, chunks, content_type=content_type)

    async def open(self, key: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        if self.switch.fail_reads:
            raise StorageError("injected read failure")
        async for chunk in self.inner.open(key, chunk_size=chunk_size):
            yield chunk

    async def stat(self, key: str) -> ObjectInfo:
        if self.switch.fail_reads:
            raise StorageError("injected read failure")
        return await self.inner.stat(key)

    async def delete(self, key: str) -> None:
        await self.inner.delete(key)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        async for info in self.inner.list(prefix):
            yield info

    async def presign_get(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        raise StorageError("no presigned URLs")

    async def presign_post(
        self, key: str, *, content_type: str, max_size: int, expires_in: int
    ) -> PresignedPost:
        raise StorageError("no presigned uploads")

    def local_path(self, key: str) -> Path | None:
        return None

    async def check(self) -> None:
        await self.inner.check()


class RefusingQueue(LocalQueue):
    """The built-in queue, refusing ``enqueue`` with QueueUnavailable while ``refuse`` is set."""

    refuse = False

    async def enqueue(self, job_id: str, *, lane: str = SHORT) -> None:
        if type(self).refuse:
            raise QueueUnavailable("injected: the queue refused the message")
        await super().enqueue(job_id, lane=lane)


class FaultPlugin:
    """Offers ``flaky`` storage and the ``refusing`` queue; select them with SALON_STORAGE /
    SALON_QUEUE. The switch is shared so a test flips failures while the app runs."""

    def __init__(self) -> None:
        self.switch = Switch()

    @hookimpl
    def register_storage_backends(self, register: Any) -> None:
        def factory(ctx: ProviderContext) -> FlakyStorage:
            return FlakyStorage(LocalStorage.from_context(ctx), self.switch)

        register("flaky", factory)

    @hookimpl
    def register_job_queues(self, register: Any) -> None:
        def factory(ctx: ProviderContext) -> RefusingQueue:
            queue = RefusingQueue(ctx.database, visibility_timeout=60)
            return queue

        register("refusing", factory)


async def on_app_loop(app: RunningApp, func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``func`` on the loop the app serves requests on. The test client runs the app in a
    thread of its own; asyncpg connections belong to the loop that made them, so database work
    from the test's loop would share the pool's connections across loops."""
    portal = app.client.blocking_portal
    return await anyio.to_thread.run_sync(lambda: portal.call(func, *args))


async def count(app: RunningApp, model: Any) -> int:
    async def query() -> int:
        async with app.runtime.session_maker() as session:
            result = await session.execute(select(func.count()).select_from(model))
            return int(result.scalar_one())

    return await on_app_loop(app, query)


async def image_count(app: RunningApp) -> int:
    return await count(app, ImageRow)


async def job_count(app: RunningApp) -> int:
    return await count(app, Job)


def tmp_leftovers(data_dir: Path) -> list[Path]:
    tmp = data_dir / "tmp"
    return sorted(tmp.rglob("*")) if tmp.exists() else []


async def assert_nothing_lost(app: RunningApp, images: int) -> None:
    """Exactly ``images`` rows, each with its original and renditions, no orphan object, and
    no temporary file: what ``salon doctor`` would find is nothing."""
    assert await image_count(app) == images
    report = await on_app_loop(app, diagnose, app.runtime)
    assert report.healthy, report.as_dict()
    assert not report.processing and not report.failed, report.as_dict()
    assert tmp_leftovers(app.data_dir) == []


def media_files(data_dir: Path) -> list[Path]:
    media = data_dir / "media"
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []
