"""Downloading an entry's image: streamed in chunks, size-capped, no key sent to image hosts."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import pytest
from PIL import Image
from salon.errors import SourceError
from salon.providers import SourceEntry
from salon_nasa_apod import ApodSource
from salon_nasa_apod.testing import FakeApodServer

MakeSource = Callable[..., ApodSource]


async def _collect(source: ApodSource, entry: SourceEntry) -> list[bytes]:
    return [chunk async for chunk in source.download(entry)]


async def test_download_streams_the_hd_jpeg(source: ApodSource, fake: FakeApodServer) -> None:
    fake.images["2024-03-01-hd"] = big = _jpeg((1600, 1200))
    [entry] = await source.entries({"date": "2024-03-01"})
    chunks = await _collect(source, entry)
    assert len(chunks) > 1, "streamed in several chunks, not read whole"
    body = b"".join(chunks)
    assert hashlib.sha256(body).digest() == hashlib.sha256(big).digest()
    assert Image.open(io.BytesIO(body)).size == (1600, 1200)
    [image_request] = [seen for seen in fake.requests if seen.path.startswith("/images/")]
    assert image_request.path == "/images/2024-03-01-hd.jpg"
    assert "x-api-key" not in image_request.headers  # the key goes to NASA's API only


async def test_download_of_a_video_thumbnail(make_source: MakeSource) -> None:
    source = make_source(thumbs=True)
    [entry] = await source.entries({"date": "2024-03-02"})
    body = b"".join(await _collect(source, entry))
    assert Image.open(io.BytesIO(body)).format == "JPEG"


async def test_entry_without_image_cannot_be_downloaded(source: ApodSource) -> None:
    [video] = await source.entries({"date": "2024-03-02"})
    with pytest.raises(SourceError, match="2024-03-02 is a video with no image"):
        await _collect(source, video)


async def test_declared_size_over_the_cap_fails_before_reading(
    make_source: MakeSource, fake: FakeApodServer
) -> None:
    fake.images["2024-03-01-hd"] = _jpeg((800, 600))
    source = make_source(max_download_bytes=10_000)
    [entry] = await source.entries({"date": "2024-03-01"})
    with pytest.raises(SourceError, match="the limit is 10000"):
        await _collect(source, entry)


async def test_streamed_size_over_the_cap_stops_the_download(
    make_source: MakeSource, fake: FakeApodServer
) -> None:
    fake.images["2024-03-01-hd"] = _jpeg((800, 600))
    fake.chunked_images.add("2024-03-01-hd")  # no Content-Length: only counting can tell
    source = make_source(max_download_bytes=20_000)
    [entry] = await source.entries({"date": "2024-03-01"})
    received = 0
    with pytest.raises(SourceError, match="larger than the limit of 20000"):
        async for chunk in source.download(entry):
            received += len(chunk)
    assert received <= 20_000


async def test_missing_image_is_a_source_error(source: ApodSource, fake: FakeApodServer) -> None:
    entry = SourceEntry("2024-03-01", "x", "image", fake.origin + "/nothing-here.png")
    with pytest.raises(SourceError, match="HTTP 404"):
        await _collect(source, entry)


def _jpeg(size: tuple[int, int]) -> bytes:
    noise = Image.effect_noise(size, 90).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=95)
    return out.getvalue()
