"""Issues 17.4 and 17.13 against a real ``salon serve``: pixel bombs within the limits, and
what an uploaded ICC profile can carry into renditions.

Before: a 12 KiB 9999x9999 1-bit PNG was converted to RGB at full size (400 MB) before
resizing; six at once took the server from 197 MB to 2.68 GB. A profile's bytes (a marker with
a home address came through) were copied into every rendition, and a 320 px thumbnail weighed
200 KB. Now: files declaring over ``SALON_MAX_PIXELS_PER_BYTE`` are refused, decoded pixels
shrink in their own mode before conversion, at most ``SALON_MEDIA_DECODE_CONCURRENCY`` decodes
run at once, and renditions are sRGB with no profile embedded."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from security_support import cmyk_icc, fat_icc
from serve_support import Served, salon_serve, sign_up

SIDE = 9999  # 99,980,001 pixels: just under SALON_MAX_PIXELS (100 M)
# Decodes of ~150 MB each (100 MB decoded, 50 MB shrunk) in the media worker process, plus
# room for the allocator: measured +314 MiB with the worker process started before the
# baseline, and up to +507 MiB on a machine at load 15 (allocator arenas under contention).
# The ceiling is the stated 512 MiB. Before the fix: +2.5 GB.
RSS_GROWTH_LIMIT_MIB = 512
MARKER = b"HOME ADDRESS: 12 Marker Street, Springfield "


def _png(im: Image.Image) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def dense_enough_bomb() -> bytes:
    """A 9999x9999 1-bit PNG with a band of noise, so it has more than 100 KB (under 1000
    pixels per byte) and is decoded; each call gives different bytes."""
    im = Image.new("1", (SIDE, SIDE), 1)
    band = Image.frombytes("1", (SIDE, 96), os.urandom(SIDE * 96 // 8 + 96))
    im.paste(band, (0, 0))
    return _png(im)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with salon_serve(tmp_path_factory.mktemp("bombs")) as running:
        yield running


async def test_tiny_file_declaring_100_mp_is_refused(served: Served) -> None:
    bomb = _png(Image.new("1", (SIDE, SIDE), 1))
    assert len(bomb) < 64 * 1024
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as client:
        user = await sign_up(client, "bomber")
        answer = await client.post(
            "/api/images", files={"file": ("bomb.png", bomb, "image/png")}, headers=user
        )
        assert answer.status_code == 413, answer.text
        assert "pixels per byte" in answer.json()["detail"]
        assert answer.json()["reason"] == "too_large"
        assert (await client.get("/api/images", headers=user)).json()["items"] == []


async def test_six_concurrent_bombs_keep_memory_bounded(served: Served) -> None:
    bombs = await asyncio.gather(*(asyncio.to_thread(dense_enough_bomb) for _ in range(6)))
    assert all(len(b) > SIDE * SIDE // 1000 for b in bombs)
    async with httpx.AsyncClient(base_url=served.url, timeout=240) as client:
        # Two accounts: one may upload SALON_MAX_CONCURRENT_UPLOADS_PER_USER (4) at a time.
        users = [await sign_up(client, "bomber6a"), await sign_up(client, "bomber6b")]
        # Renditions are made in SALON_MEDIA_WORKERS child processes, started on first use:
        # start them with a small photo first, so their baseline (an interpreter with Pillow
        # and pillow-heif) is not counted as decode memory.
        warm = await client.post(
            "/api/images?wait=true",
            files={"file": ("warm.png", _png(Image.new("RGB", (64, 64), (9, 9, 9))), "image/png")},
            headers=users[0],
        )
        assert warm.status_code == 201, warm.text
        before = served.rss_mib()
        peak = before
        done = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, served.rss_mib())
                await asyncio.sleep(0.05)

        async def upload(n: int, bomb: bytes) -> httpx.Response:
            files = {"file": (f"bomb{n}.png", bomb, "image/png")}
            return await client.post("/api/images", files=files, headers=users[n % 2])

        sampler = asyncio.create_task(sample())
        try:
            answers = await asyncio.gather(*(upload(n, b) for n, b in enumerate(bombs)))
        finally:
            done.set()
            await sampler
    assert [a.status_code for a in answers] == [201] * 6, [a.text[:200] for a in answers]
    assert all(a.json()["width"] == SIDE for a in answers)
    growth = peak - before
    print(f"six bombs: server RSS {before:.0f} -> peak {peak:.0f} MiB")
    assert growth < RSS_GROWTH_LIMIT_MIB, f"server RSS went from {before:.0f} to {peak:.0f} MiB"


async def test_icc_profile_bytes_do_not_reach_renditions(served: Served) -> None:
    profile = fat_icc(MARKER, 200_000)
    photo = Image.new("RGB", (1600, 1200), (180, 40, 40))
    photo.paste((40, 40, 180), (800, 0, 1600, 1200))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90, icc_profile=profile)
    async with httpx.AsyncClient(base_url=served.url, timeout=60, follow_redirects=True) as client:
        user = await sign_up(client, "icc")
        answer = await client.post(
            "/api/images?wait=true",
            files={"file": ("icc.jpg", buffer.getvalue(), "image/jpeg")},
            headers=user,
        )
        assert answer.status_code == 201, answer.text
        image = answer.json()
        names = ("sm", "md", "lg")
        for name in names:
            got = await client.get(f"/api/images/{image['id']}/renditions/{name}", headers=user)
            assert got.status_code == 200, got.text
            assert MARKER[:20] not in got.content, name
            with Image.open(io.BytesIO(got.content)) as im:
                assert "icc_profile" not in im.info
                left, right = (
                    im.convert("RGB").getpixel((5, 5)),
                    im.convert("RGB").getpixel((im.width - 5, 5)),
                )
            assert left[0] > 150 and right[2] > 150, (left, right)  # colours kept
            if name == "sm":
                assert len(got.content) < 20_000, len(got.content)  # was 200 KB


@pytest.mark.parametrize("profile", ["none", "plain", "swapped"])
async def test_cmyk_renditions_are_srgb(served: Served, profile: str) -> None:
    """CMYK red (0, 100, 100, 0 %) comes out red without a profile or through a plain one,
    and green through a profile that says so: the profile is applied, then dropped."""
    icc = {"none": None, "plain": cmyk_icc(), "swapped": cmyk_icc(swap_red_green=True)}[profile]
    image = Image.new("CMYK", (640, 480), (0, 255, 255, 0))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, **({"icc_profile": icc} if icc else {}))
    async with httpx.AsyncClient(base_url=served.url, timeout=60, follow_redirects=True) as client:
        user = await sign_up(client, f"cmyk-{profile}")
        answer = await client.post(
            "/api/images?wait=true",
            files={"file": ("cmyk.jpg", buffer.getvalue(), "image/jpeg")},
            headers=user,
        )
        assert answer.status_code == 201, answer.text
        got = await client.get(f"/api/images/{answer.json()['id']}/renditions/sm", headers=user)
    with Image.open(io.BytesIO(got.content)) as im:
        assert "icc_profile" not in im.info
        r, g, b = im.convert("RGB").getpixel((100, 100))  # type: ignore[misc]
    if profile == "swapped":
        assert g > 200 and r < 60 and b < 60, (r, g, b)
    else:
        assert r > 200 and g < 60 and b < 60, (r, g, b)
