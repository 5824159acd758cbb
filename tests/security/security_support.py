"""Helpers shared by the security suite: small distinct images, and the check that an app holds
exactly what its rows say (no half-stored image, no orphan object, no leftover temp file)."""

from __future__ import annotations

import io
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from PIL import Image
from salon.db.models import Image as ImageRow
from salon.doctor import diagnose
from salon.testing.fixtures import RunningApp
from sqlalchemy import func, select

T = TypeVar("T")
_colors = itertools.count(1)


def distinct_jpeg(size: tuple[int, int] = (48, 32)) -> bytes:
    """A small JPEG whose bytes differ from every other one this process made."""
    n = next(_colors)
    buffer = io.BytesIO()
    color = (n % 251, (n * 7) % 253, (n * 13) % 255)
    image = Image.new("RGB", size, color)
    image.putpixel((0, 0), (n % 256, (n >> 8) % 256, (n >> 16) % 256))
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


async def on_app_loop(app: RunningApp, func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``func`` on the loop the app serves requests on (the test client runs the app in a
    thread of its own; asyncpg connections must stay on the loop that made them)."""
    portal = app.client.blocking_portal
    return await anyio.to_thread.run_sync(lambda: portal.call(func, *args))


async def image_rows(app: RunningApp) -> int:
    async def query() -> int:
        async with app.runtime.session_maker() as session:
            result = await session.execute(select(func.count()).select_from(ImageRow))
            return int(result.scalar_one())

    return await on_app_loop(app, query)


def tmp_leftovers(data_dir: Path) -> list[Path]:
    tmp = data_dir / "tmp"
    return sorted(p for p in tmp.rglob("*")) if tmp.exists() else []


async def assert_consistent(app: RunningApp, images: int) -> None:
    """``images`` rows, every object referenced and present, and nothing in data_dir/tmp."""
    assert await image_rows(app) == images
    report = await on_app_loop(app, diagnose, app.runtime)
    assert report.healthy, report.as_dict()
    assert tmp_leftovers(app.data_dir) == []


def fat_icc(marker: bytes, size: int) -> bytes:
    """A valid sRGB ICC profile carrying a private ``mrkr`` tag of ``size`` bytes that repeat
    ``marker``: what an uploader can hide in a profile (LittleCMS opens it)."""
    import struct

    from PIL import ImageCms

    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    count = struct.unpack(">I", base[128:132])[0]
    table_end = 132 + 12 * count
    entries = [struct.unpack(">4sII", base[132 + 12 * i : 144 + 12 * i]) for i in range(count)]
    payload = b"data" + b"\0" * 4 + b"\0\0\0\1" + (marker * (size // len(marker) + 1))[:size]
    body = base[table_end:]
    body += b"\0" * (-len(body) % 4)
    new_table_end = table_end + 12
    table = b"".join(struct.pack(">4sII", sig, off + 12, sz) for sig, off, sz in entries)
    table += struct.pack(">4sII", b"mrkr", new_table_end + len(body), len(payload))
    profile = bytearray(base[:128] + struct.pack(">I", count + 1) + table + body + payload)
    profile[0:4] = struct.pack(">I", len(profile))
    profile[84:100] = b"\0" * 16  # profile id: "not computed"
    return bytes(profile)
