"""Hostile and unusual files through ``POST /api/images`` (the corpus is made here).

Extends tests/integration/test_api_bad_input.py (HTML, SVG, truncated JPEG, decompression bomb,
type mismatch, zero bytes) and tests/unit/test_pillow_media.py (the processor alone) with what
they do not cover end to end: polyglots, oversized and malformed EXIF, CMYK and 16-bit images,
animated GIF/WebP (stills of the first frame, and the rendition that moves) and 0x0 images.
Each is a clear 4xx or correctly handled, never a 5xx, and never half-stored: rows, stored
objects and data_dir/tmp agree afterwards.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio
from PIL import Image, ImageSequence
from salon.testing.fixtures import RunningApp, running_app
from security_support import assert_consistent, image_rows

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCRIPT = b"<html><body><script>alert(document.cookie)</script></body></html>"


def _save(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_raw(width: int, height: int, depth: int, color_type: int, rows: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def base_jpeg(
    size: tuple[int, int] = (120, 80), color: tuple[int, int, int] = (30, 90, 160)
) -> bytes:
    return _save(Image.new("RGB", size, color), "JPEG", quality=90)


def polyglot_comment(color: tuple[int, int, int] = (11, 22, 33)) -> bytes:
    """A valid JPEG whose COM segment is an HTML page, with more HTML after EOI."""
    jpeg = base_jpeg(color=color)
    comment = b"\xff\xfe" + struct.pack(">H", len(SCRIPT) + 2) + SCRIPT
    return jpeg[:2] + comment + jpeg[2:] + SCRIPT


def html_then_jpeg() -> bytes:
    return SCRIPT + base_jpeg(color=(44, 55, 66))


def exif_oversized() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "D" * 40000  # ImageDescription (a JPEG segment holds at most 64 KiB)
    exif[0x010F] = "M" * 5000  # Make
    exif[0x0110] = "<script>x</script>" * 100  # Model
    exif[0x0112] = 6  # Orientation: rotate
    exif[0x0132] = "9999:99:99 99:99:99"  # DateTime, impossible
    return _save(Image.new("RGB", (120, 80), (5, 200, 9)), "JPEG", exif=exif.tobytes())


def exif_malformed() -> bytes:
    """An APP1 Exif segment whose TIFF structure is garbage (offsets pointing nowhere)."""
    jpeg = base_jpeg(color=(77, 1, 200))
    garbage = b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0" + b"\xde\xad\xbe\xef" * 50
    app1 = b"\xff\xe1" + struct.pack(">H", len(garbage) + 2) + garbage
    return jpeg[:2] + app1 + jpeg[2:]


def exif_bad_orientation() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 99
    exif[0x9003] = "not a date at all"
    return _save(Image.new("RGB", (120, 80), (1, 2, 250)), "JPEG", exif=exif.tobytes())


def cmyk_jpeg() -> bytes:
    return _save(Image.new("CMYK", (90, 60), (0, 200, 200, 10)), "JPEG", quality=90)


def png16_gray() -> bytes:
    image = Image.new("I;16", (70, 50))
    image.putdata([(i * 997) % 65536 for i in range(70 * 50)])
    return _save(image, "PNG")


def png16_rgb() -> bytes:
    width, height = 40, 30
    rows = b"".join(
        b"\x00" + b"".join(struct.pack(">HHH", x * 1600, y * 2100, 40000) for x in range(width))
        for y in range(height)
    )
    return png_raw(width, height, 16, 2, rows)


def _frames(size: tuple[int, int]) -> list[Image.Image]:
    return [Image.new("RGB", size, c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]


def animated_gif() -> bytes:
    first, *rest = _frames((64, 40))
    return _save(first, "GIF", save_all=True, append_images=rest, duration=100, loop=0)


def animated_webp() -> bytes:
    first, *rest = _frames((66, 42))
    return _save(first, "WEBP", save_all=True, append_images=rest, duration=100, loop=0)


def png_zero() -> bytes:
    return png_raw(0, 0, 8, 2, b"")


def gif_zero() -> bytes:
    gif = bytearray(_save(Image.new("P", (1, 1)), "GIF"))
    gif[6:10] = b"\x00\x00\x00\x00"  # logical screen 0x0
    gif[gif.index(b"\x2c") + 5 : gif.index(b"\x2c") + 9] = b"\x00\x00\x00\x00"  # the frame too
    return bytes(gif)


@dataclass(frozen=True)
class Case:
    make: Callable[[], bytes]
    claimed: str
    status: int | tuple[int, ...]
    content_type: str | None = None
    size: tuple[int, int] | None = None


CASES: dict[str, Case] = {
    "polyglot-comment-as-jpeg": Case(polyglot_comment, "image/jpeg", 201, "image/jpeg", (120, 80)),
    # The bytes decide: a JPEG is a JPEG whatever it was sent as, and goes back as image/jpeg
    # with nosniff, so the HTML in its comment is never served as a page.
    "polyglot-claimed-html": Case(
        lambda: polyglot_comment((12, 23, 34)), "text/html", 201, "image/jpeg", (120, 80)
    ),
    "html-then-jpeg": Case(html_then_jpeg, "image/jpeg", 415),
    "exif-oversized": Case(exif_oversized, "image/jpeg", 201, "image/jpeg", (80, 120)),
    "exif-malformed": Case(exif_malformed, "image/jpeg", 201, "image/jpeg", (120, 80)),
    "exif-bad-orientation": Case(exif_bad_orientation, "image/jpeg", 201, "image/jpeg", (120, 80)),
    "cmyk-jpeg": Case(cmyk_jpeg, "image/jpeg", 201, "image/jpeg", (90, 60)),
    "png-16-bit-gray": Case(png16_gray, "image/png", 201, "image/png", (70, 50)),
    "png-16-bit-rgb": Case(png16_rgb, "image/png", 201, "image/png", (40, 30)),
    "animated-gif": Case(animated_gif, "image/gif", 201, "image/gif", (64, 40)),
    "animated-webp": Case(animated_webp, "image/webp", 201, "image/webp", (66, 42)),
    "png-0x0": Case(png_zero, "image/png", 415),
    "gif-0x0": Case(gif_zero, "image/gif", 415),
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningApp]:
    data = tmp_path_factory.mktemp("hostile") / "data"
    # Embedded (jobs run here), so ?wait=true answers once this process made the renditions.
    async with running_app(data) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def owner(app: RunningApp) -> dict[str, str]:
    return await app.login()


@pytest.mark.parametrize("name", list(CASES))
async def test_hostile_file(app: RunningApp, owner: dict[str, str], name: str) -> None:
    case = CASES[name]
    data = case.make()
    before = await image_rows(app)
    response = await app.client.post(
        "/api/images",
        params={"wait": "true"},
        files={"file": (f"{name}.bin", data, case.claimed)},
        headers=owner,
    )
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    assert response.status_code in expected, response.text
    assert "Traceback" not in response.text
    body = response.json()
    if response.status_code >= 400:
        assert body["status_code"] == response.status_code and body["detail"]
        await assert_consistent(app, images=before)
        return
    assert body["content_type"] == case.content_type
    assert (body["width"], body["height"]) == case.size
    assert len(response.content) < 16_000, "metadata must not echo oversized EXIF"
    await assert_consistent(app, images=before + 1)
    await _check_served(app, owner, body, data)


async def _check_served(
    app: RunningApp, owner: dict[str, str], body: dict[str, object], data: bytes
) -> None:
    image_id = body["id"]
    original = await app.client.get(f"/api/images/{image_id}/original", headers=owner)
    assert original.status_code == 200 and original.content == data
    # The original goes back with its sniffed type and nosniff: never as HTML.
    assert original.headers["content-type"].startswith(str(body["content_type"]))
    assert original.headers["x-content-type-options"] == "nosniff"
    for name in ("sm", "md", "lg"):
        rendition = await app.client.get(f"/api/images/{image_id}/renditions/{name}", headers=owner)
        assert rendition.status_code == 200
        assert b"<script" not in rendition.content and b"<html" not in rendition.content
        with Image.open(io.BytesIO(rendition.content)) as decoded:
            assert decoded.format == "WEBP"
            assert decoded.mode in ("RGB", "RGBA")
            # Stills, but for the one rendition an animation moves in (s29): every frame.
            moving = body["metadata"].get("animated_rendition") == name  # type: ignore[attr-defined]
            frames = sum(1 for _ in ImageSequence.Iterator(decoded))
            assert frames == (3 if moving else 1), (name, frames)
            assert (decoded.width, decoded.height) == (body["width"], body["height"])
            exif = decoded.getexif()
            assert 0x010E not in exif and 0x8825 not in exif  # no description, no GPS


async def test_first_frame_is_the_one_shown(app: RunningApp, owner: dict[str, str]) -> None:
    response = await app.client.post(
        "/api/images",
        params={"wait": "true"},
        files={"file": ("a.gif", animated_gif(), "image/gif")},
        headers=owner,
    )
    assert response.status_code in (200, 201)
    sm = await app.client.get(f"/api/images/{response.json()['id']}/renditions/sm", headers=owner)
    with Image.open(io.BytesIO(sm.content)) as decoded:
        red, green, blue = decoded.convert("RGB").getpixel((10, 10))
    assert red > 200 and green < 60 and blue < 60  # the red first frame, not green or blue
