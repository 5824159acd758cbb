"""Contract suite for :class:`salon.providers.MediaProcessor` implementations.

Subclass :class:`MediaProcessorContract` in a test module (its name must start with ``Test``) and
supply a ``media_processor`` fixture::

    from salon.testing.contracts.media import MediaProcessorContract

    class TestMyProcessor(MediaProcessorContract):
        @pytest.fixture
        def media_processor(self):
            return MyProcessor(max_pixels=50_000_000)

The suite makes its own small corpus with Pillow (a JPEG with EXIF orientation, GPS, capture
date and XMP; PNGs with alpha, palette, grey+alpha and 16 bits; a CMYK JPEG; animated GIF and
WebP; and bad input: truncated, zero bytes, HTML, SVG, text, decompression bombs) and checks
what the core relies on: rendition sizes (never upscaled), orientation applied, no EXIF, GPS or
XMP in any output, the sniffed content type, ``UnsupportedMedia`` with a plain message for bad
input and nothing left behind, and concurrent calls from threads. The ``make_*`` helpers are
public so a plugin's own tests can reuse them.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageOps

from salon.errors import UnsupportedMedia
from salon.providers import MediaProcessor, ProcessedMedia, RenditionFile, RenditionSpec

__all__ = [
    "CONTRACT_SPECS",
    "EXIF_MAKE",
    "EXIF_TAKEN_AT_UTC",
    "GPS",
    "XMP_MARKER",
    "MediaProcessorContract",
    "check_metadata",
    "check_rendition_file",
    "make_animated_gif",
    "make_animated_webp",
    "make_bomb_gif",
    "make_bomb_jpeg",
    "make_bomb_png",
    "make_cmyk_jpeg",
    "make_exif_jpeg",
    "make_la_png",
    "make_palette_png",
    "make_png_16bit_grey",
    "make_png_16bit_rgb",
    "make_rgba_png",
    "make_truncated_jpeg",
    "make_truncated_png",
    "make_zero_size_png",
    "png_bytes",
    "quadrant_image",
]

CONTRACT_SPECS: tuple[RenditionSpec, ...] = (
    RenditionSpec("sm", 64),
    RenditionSpec("md", 160),
    RenditionSpec("lg", 2048),  # larger than every corpus image: must not upscale
)
EXIF_MAKE = "SalonContractCam"
EXIF_MODEL = "Model Contract-1"
XMP_MARKER = "salon-contract-private-xmp"
GPS: dict[int, Any] = {1: "N", 2: (52.0, 22.0, 1.5), 3: "E", 4: (4.0, 53.0, 0.0)}
EXIF_TAKEN_AT_UTC = dt.datetime(2024, 5, 17, 12, 3, 21, tzinfo=dt.UTC)
"""What ``make_exif_jpeg``'s DateTimeOriginal (14:03:21 at +02:00) is in UTC."""

RED, GREEN, BLUE, WHITE = (230, 20, 20), (20, 200, 20), (20, 20, 230), (245, 245, 245)


# --------------------------------------------------------------------------- corpus


def quadrant_image(size: tuple[int, int] = (400, 300), mode: str = "RGB") -> Image.Image:
    """Four flat quadrants (red, green / blue, white), so any rotation or flip is visible."""
    w, h = size
    im = Image.new("RGB", size)
    im.paste(RED, (0, 0, w // 2, h // 2))
    im.paste(GREEN, (w // 2, 0, w, h // 2))
    im.paste(BLUE, (0, h // 2, w // 2, h))
    im.paste(WHITE, (w // 2, h // 2, w, h))
    return im if mode == "RGB" else im.convert(mode)


def make_exif_jpeg(path: Path, *, orientation: int = 6, size: tuple[int, int] = (400, 300)) -> Path:
    """A JPEG whose pixels are stored sideways, with Orientation, camera, GPS, capture date
    (local time with an offset) and an XMP packet."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = EXIF_MAKE
    exif[0x0110] = EXIF_MODEL
    exif[0x8825] = dict(GPS)
    exif[0x8769] = {0x9003: "2024:05:17 14:03:21", 0x9011: "+02:00"}
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/">{XMP_MARKER}</x:xmpmeta>'.encode()
    quadrant_image(size).save(path, "JPEG", quality=92, exif=exif.tobytes(), xmp=xmp)
    return path


def make_rgba_png(path: Path) -> Path:
    """Left half fully transparent, right half opaque red."""
    im = Image.new("RGBA", (200, 100), (0, 0, 255, 0))
    im.paste((*RED, 255), (100, 0, 200, 100))
    im.save(path, "PNG")
    return path


def make_palette_png(path: Path) -> Path:
    """A palette image whose index 0 is transparent (left half) and 1 is green (right half)."""
    im = Image.new("P", (200, 100), 0)
    im.putpalette([0, 0, 0, *GREEN] + [0] * (256 * 3 - 6))
    im.paste(1, (100, 0, 200, 100))
    im.save(path, "PNG", transparency=0)
    return path


def make_la_png(path: Path) -> Path:
    """Grey plus alpha: left half transparent, right half opaque mid-grey."""
    im = Image.new("LA", (200, 100), (0, 0))
    im.paste((128, 255), (100, 0, 200, 100))
    im.save(path, "PNG")
    return path


def make_rgb_trns_png(path: Path) -> Path:
    """RGB with a colour-key tRNS: the left half is the key (bright green, transparent), the
    right half opaque red. A processor that ignores tRNS shows a green block."""
    im = Image.new("RGB", (200, 100), GREEN)
    im.paste(RED, (100, 0, 200, 100))
    im.save(path, "PNG", transparency=GREEN)
    return path


def make_grey_trns_png(path: Path, *, bits: int = 16) -> Path:
    """Grey with a tRNS key: left half value 0 (the key, transparent), right half white. At 16
    bits a processor that ignores tRNS shows a black block."""
    w, h = 200, 100
    if bits == 16:
        row = struct.pack("<H", 0) * (w // 2) + struct.pack("<H", 0xFFFF) * (w // 2)
        Image.frombytes("I;16", (w, h), row * h).save(path, "PNG", transparency=0)
    else:
        im = Image.new("L", (w, h), 0)
        im.paste(255, (100, 0, 200, 100))
        im.save(path, "PNG", transparency=0)
    return path


def make_gif_transparency(path: Path) -> Path:
    """A still GIF whose transparency index covers the left half; the right half is red."""
    im = Image.new("P", (200, 100), 0)
    im.putpalette([0, 0, 0, *RED] + [0] * (256 * 3 - 6))
    im.paste(1, (100, 0, 200, 100))
    im.save(path, "GIF", transparency=0)
    return path


def make_png_16bit_grey(path: Path) -> Path:
    """16-bit grey: left half 0x8000 (mid-grey), right half 0xFFFF (white). A processor that
    clips instead of scaling turns the left half white."""
    w, h = 200, 100
    row = struct.pack("<H", 0x8000) * (w // 2) + struct.pack("<H", 0xFFFF) * (w // 2)
    Image.frombytes("I;16", (w, h), row * h).save(path, "PNG")
    return path


def png_bytes(width: int, height: int, bit_depth: int, color_type: int, raw: bytes) -> bytes:
    """A PNG written by hand (Pillow cannot write every kind, nor lying headers)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_png_16bit_rgb(path: Path) -> Path:
    """48-bit RGB, solid red (0xE600, 0x1400, 0x1400)."""
    w, h = 64, 32
    pixel = struct.pack(">HHH", 0xE600, 0x1400, 0x1400)
    raw = (b"\x00" + pixel * w) * h
    path.write_bytes(png_bytes(w, h, 16, 2, raw))
    return path


def make_cmyk_jpeg(path: Path) -> Path:
    """A CMYK JPEG (Adobe), solid red in CMYK terms (C=0, M=Y=255, K=0)."""
    Image.new("CMYK", (200, 150), (0, 255, 255, 0)).save(path, "JPEG", quality=95)
    return path


def _frames() -> list[Image.Image]:
    return [Image.new("RGB", (120, 80), c) for c in (RED, GREEN, BLUE)]


def make_animated_gif(path: Path) -> Path:
    """Three frames: red, green, blue. Only the first (red) may be used."""
    first, *rest = _frames()
    first.save(path, "GIF", save_all=True, append_images=rest, duration=100, loop=0)
    return path


def make_animated_webp(path: Path) -> Path:
    """Three lossless frames: red, green, blue."""
    first, *rest = _frames()
    first.save(path, "WEBP", save_all=True, append_images=rest, duration=100, lossless=True)
    return path


def make_truncated_jpeg(path: Path) -> Path:
    """A detailed JPEG cut at 60 %: the header is fine, the scan data ends early."""
    im = Image.linear_gradient("L").resize((512, 512)).convert("RGB")
    im = Image.merge("RGB", (im.getchannel(0), im.rotate(90).getchannel(0), im.getchannel(0)))
    buf = io.BytesIO()
    Image.blend(im, quadrant_image((512, 512)), 0.5).save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


def make_truncated_png(path: Path) -> Path:
    buf = io.BytesIO()
    Image.linear_gradient("L").resize((400, 400)).save(buf, "PNG")
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 2])
    return path


def make_bomb_png(path: Path, width: int = 60_000, height: int = 60_000) -> Path:
    """A 3.6 gigapixel header over a few bytes of data: must be refused before decoding."""
    path.write_bytes(png_bytes(width, height, 8, 2, b"\x00" * 1024))
    return path


def make_bomb_jpeg(path: Path) -> Path:
    """A small JPEG whose frame header claims 65000 x 65000 pixels."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), RED).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 65000, 65000)
    path.write_bytes(bytes(data))
    return path


def make_bomb_gif(path: Path) -> Path:
    """A GIF whose logical screen and frame claim 65535 x 65535 pixels."""
    buf = io.BytesIO()
    Image.new("P", (4, 4), 0).save(buf, "GIF")
    data = bytearray(buf.getvalue())
    struct.pack_into("<HH", data, 6, 0xFFFF, 0xFFFF)
    desc = data.find(b",", 13)  # image descriptor: ',' x y w h
    struct.pack_into("<HH", data, desc + 5, 0xFFFF, 0xFFFF)
    path.write_bytes(bytes(data))
    return path


def make_zero_size_png(path: Path) -> Path:
    path.write_bytes(png_bytes(0, 0, 8, 2, b""))
    return path


NOT_IMAGES: dict[str, bytes] = {
    "empty.jpg": b"",
    "page.html": b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
    "drawing.svg": (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" '
        b'height="10"><rect width="10" height="10"/></svg>'
    ),
    "notes.txt": b"just some text, not a picture\n" * 20,
    "data.json": b'{"image": "no"}',
    "doc.pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
    "fake.jpg": b"\xff\xd8\xff\xe0" + b"<html>not really a jpeg</html>" * 10,
    "fake.png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
}


# --------------------------------------------------------------------------- checks


def _open_output(path: Path) -> tuple[Image.Image, bytes]:
    data = path.read_bytes()
    im = Image.open(io.BytesIO(data))
    im.load()
    return im, data


def check_rendition_file(rendition: RenditionFile, out_dir: Path) -> tuple[int, int]:
    """Assert that ``rendition`` is a file in ``out_dir`` that is what it says (type, size,
    dimensions) and carries no EXIF, GPS or XMP; returns its (width, height)."""
    path = Path(rendition.path)
    assert path.resolve().parent == out_dir.resolve(), "renditions go into out_dir"
    assert path.is_file()
    im, data = _open_output(path)
    assert rendition.size == len(data)
    assert Image.MIME.get(im.format or "") == rendition.content_type
    assert (im.width, im.height) == (rendition.width, rendition.height)
    assert len(im.getexif()) == 0, f"{rendition.name}: EXIF in a rendition"
    assert "exif" not in im.info and "xmp" not in im.info
    assert not {b"EXIF", b"XMP "} & set(_webp_chunks(data))
    for secret in (EXIF_MAKE.encode(), XMP_MARKER.encode(), b"Exif\x00\x00"):
        assert secret not in data, f"{rendition.name}: {secret!r} found in the output"
    return im.width, im.height


def check_metadata(metadata: Mapping[str, Any]) -> None:
    """Assert that no metadata key or value carries the corpus's GPS position."""
    for key, value in metadata.items():
        assert "gps" not in key.lower(), f"metadata key {key!r} looks like GPS"
        assert "52.0" not in repr(value) and "GPS" not in repr(value)


def _webp_chunks(data: bytes) -> list[bytes]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return []
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks.append(kind)
        pos += 8 + size + (size & 1)
    return chunks


def _color_at(im: Image.Image, fx: float, fy: float) -> tuple[int, ...]:
    """The colour at a fractional position, away from edges where lossy codecs blur."""
    rgb = im.convert("RGBA")
    px = rgb.getpixel(
        (min(rgb.width - 1, int(rgb.width * fx)), min(rgb.height - 1, int(rgb.height * fy)))
    )
    assert isinstance(px, tuple)
    return px


def _close(a: Sequence[int], b: Sequence[int], tol: int = 40) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


def _expected_size(width: int, height: int, long_edge: int) -> tuple[int, int]:
    if max(width, height) <= long_edge:
        return width, height
    if width >= height:
        return long_edge, max(1, round(height * long_edge / width))
    return max(1, round(width * long_edge / height)), long_edge


class MediaProcessorContract:
    """The behaviour the core relies on from every media processor.

    Subclasses provide ``media_processor``. Tests only use ``tmp_path``, small images and
    :data:`CONTRACT_SPECS`, so the suite runs in a few seconds.
    """

    specs: Sequence[RenditionSpec] = CONTRACT_SPECS

    @pytest.fixture
    def media_processor(self) -> MediaProcessor:
        raise NotImplementedError(
            "subclass MediaProcessorContract and define a `media_processor` fixture"
        )

    @pytest.fixture
    def out_dir(self, tmp_path: Path) -> Path:
        out = tmp_path / "out"
        out.mkdir()
        return out

    # -------------------------------------------------------------- helpers

    def run(self, processor: MediaProcessor, source: Path, out_dir: Path) -> ProcessedMedia:
        result = processor.process(source, out_dir, self.specs)
        self.check_outputs(result, out_dir)
        return result

    def check_outputs(self, result: ProcessedMedia, out_dir: Path) -> None:
        """Every rendition exists inside ``out_dir``, is what it says, and carries no EXIF,
        GPS or XMP; sizes follow the specs without upscaling."""
        info = result.info
        assert info.width > 0 and info.height > 0
        assert [r.name for r in result.renditions] == [s.name for s in self.specs]
        for spec, rendition in zip(self.specs, result.renditions, strict=True):
            size = check_rendition_file(rendition, out_dir)
            assert size == _expected_size(info.width, info.height, spec.long_edge)
        check_metadata(info.metadata)
        if result.placeholder is not None:
            assert isinstance(result.placeholder, str) and 0 < len(result.placeholder) <= 200
            assert result.placeholder.isascii()

    def assert_rejected(self, processor: MediaProcessor, source: Path, out_dir: Path) -> str:
        with pytest.raises(UnsupportedMedia) as caught:
            processor.process(source, out_dir, self.specs)
        message = str(caught.value)
        assert message.strip(), "UnsupportedMedia needs a message for the uploader"
        assert "Traceback" not in message and len(message) < 300
        assert str(source) not in message and str(out_dir) not in message, "no server paths"
        assert list(out_dir.iterdir()) == [], "a rejected upload leaves nothing behind"
        return message

    # -------------------------------------------------------------- good input

    def test_declares_content_types(self, media_processor: MediaProcessor) -> None:
        assert {"image/jpeg", "image/png"} <= set(media_processor.content_types)
        assert all(ct.startswith("image/") for ct in media_processor.content_types)

    def test_exif_jpeg(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        source = make_exif_jpeg(tmp_path / "photo.jpg", orientation=6)
        result = self.run(media_processor, source, out_dir)
        info = result.info
        assert info.content_type == "image/jpeg"
        assert (info.width, info.height) == (300, 400), "size after orientation"
        taken = info.taken_at
        assert taken is not None, "EXIF DateTimeOriginal is kept"
        if taken.tzinfo is None:
            taken = taken.replace(tzinfo=dt.UTC)
        assert taken == EXIF_TAKEN_AT_UTC

    @pytest.mark.parametrize("orientation", range(1, 9))
    def test_orientation_applied(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path, orientation: int
    ) -> None:
        source = make_exif_jpeg(tmp_path / "o.jpg", orientation=orientation)
        result = self.run(media_processor, source, out_dir)
        with Image.open(source) as src:
            expected = ImageOps.exif_transpose(src)
        assert (result.info.width, result.info.height) == expected.size
        for rendition in result.renditions:
            im, _ = _open_output(Path(rendition.path))
            assert (im.width >= im.height) == (expected.width >= expected.height)
            for fx, fy in ((0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)):
                want, got = _color_at(expected, fx, fy), _color_at(im, fx, fy)
                assert _close(got[:3], want[:3]), (rendition.name, (fx, fy), got, want)

    def test_png_alpha_kept(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        result = self.run(media_processor, make_rgba_png(tmp_path / "a.png"), out_dir)
        assert result.info.content_type == "image/png"
        assert (result.info.width, result.info.height) == (200, 100)
        for rendition in result.renditions:
            im, _ = _open_output(Path(rendition.path))
            assert _color_at(im, 0.25, 0.5)[3] < 20, "transparent stays transparent"
            right = _color_at(im, 0.75, 0.5)
            assert right[3] > 235 and _close(right[:3], RED)

    def test_palette_with_transparency(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        result = self.run(media_processor, make_palette_png(tmp_path / "p.png"), out_dir)
        im, _ = _open_output(Path(result.renditions[0].path))
        assert _color_at(im, 0.2, 0.5)[3] < 20
        assert _close(_color_at(im, 0.8, 0.5), (*GREEN, 255))

    def test_grey_alpha(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        result = self.run(media_processor, make_la_png(tmp_path / "la.png"), out_dir)
        im, _ = _open_output(Path(result.renditions[1].path))
        assert _color_at(im, 0.2, 0.5)[3] < 20
        assert _close(_color_at(im, 0.8, 0.5), (128, 128, 128, 255), tol=12)

    @pytest.mark.parametrize(
        ("maker", "opaque"),
        [
            (make_rgb_trns_png, RED),
            (make_grey_trns_png, (255, 255, 255)),
            (lambda p: make_grey_trns_png(p, bits=8), (255, 255, 255)),
            (make_gif_transparency, RED),
            (make_palette_png, GREEN),
            (make_la_png, (128, 128, 128)),
            (make_rgba_png, RED),
        ],
        ids=["rgb-trns", "grey16-trns", "grey8-trns", "gif-index", "palette-trns", "la", "rgba"],
    )
    def test_every_transparency_kind_keeps_alpha(
        self,
        media_processor: MediaProcessor,
        tmp_path: Path,
        out_dir: Path,
        maker: Any,
        opaque: tuple[int, int, int],
    ) -> None:
        # Every rendition: the transparent half stays transparent (not the key colour, not
        # black) and the opaque half keeps its colour.
        result = self.run(media_processor, maker(tmp_path / "t"), out_dir)
        for rendition in result.renditions:
            im, _ = _open_output(Path(rendition.path))
            assert im.mode == "RGBA", (rendition.name, im.mode)
            assert _color_at(im, 0.2, 0.5)[3] < 20, (rendition.name, _color_at(im, 0.2, 0.5))
            right = _color_at(im, 0.8, 0.5)
            assert right[3] > 235 and _close(right[:3], opaque, tol=16), (rendition.name, right)

    def test_16bit_grey_png_is_scaled_not_clipped(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        result = self.run(media_processor, make_png_16bit_grey(tmp_path / "g16.png"), out_dir)
        im, _ = _open_output(Path(result.renditions[1].path))
        assert _close(_color_at(im, 0.2, 0.5)[:3], (128, 128, 128), tol=12)
        assert _close(_color_at(im, 0.8, 0.5)[:3], (255, 255, 255), tol=12)

    def test_16bit_rgb_png(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        result = self.run(media_processor, make_png_16bit_rgb(tmp_path / "rgb16.png"), out_dir)
        im, _ = _open_output(Path(result.renditions[0].path))
        assert _close(_color_at(im, 0.5, 0.5)[:3], (0xE6, 0x14, 0x14), tol=16)

    def test_cmyk_jpeg_becomes_rgb(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        result = self.run(media_processor, make_cmyk_jpeg(tmp_path / "cmyk.jpg"), out_dir)
        assert result.info.content_type == "image/jpeg"
        for rendition in result.renditions:
            im, _ = _open_output(Path(rendition.path))
            assert im.mode in ("RGB", "RGBA")
            r, g, b = _color_at(im, 0.5, 0.5)[:3]
            assert r > 180 and g < 90 and b < 90, f"CMYK red came out as {(r, g, b)}"

    @pytest.mark.parametrize(
        ("maker", "content_type"),
        [(make_animated_gif, "image/gif"), (make_animated_webp, "image/webp")],
        ids=["gif", "webp"],
    )
    def test_animation_uses_first_frame(
        self,
        media_processor: MediaProcessor,
        tmp_path: Path,
        out_dir: Path,
        maker: Any,
        content_type: str,
    ) -> None:
        result = self.run(media_processor, maker(tmp_path / "anim"), out_dir)
        assert result.info.content_type == content_type
        assert (result.info.width, result.info.height) == (120, 80)
        for rendition in result.renditions:
            im, _ = _open_output(Path(rendition.path))
            assert _close(_color_at(im, 0.5, 0.5)[:3], RED), "first frame"

    def test_content_type_is_sniffed_not_claimed(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        # PNG bytes under a .jpg name: the processor reports what the bytes are.
        source = make_rgba_png(tmp_path / "really-a-png.jpg")
        assert self.run(media_processor, source, out_dir).info.content_type == "image/png"

    def test_never_upscales(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path
    ) -> None:
        source = tmp_path / "tiny.png"
        quadrant_image((40, 30)).save(source, "PNG")
        result = self.run(media_processor, source, out_dir)
        assert all((r.width, r.height) == (40, 30) for r in result.renditions)

    def test_concurrent_calls(self, media_processor: MediaProcessor, tmp_path: Path) -> None:
        makers = [make_exif_jpeg, make_rgba_png, make_cmyk_jpeg, make_animated_gif]
        sources = [m(tmp_path / f"src{i}") for i, m in enumerate(makers * 2)]
        outs = [tmp_path / f"out{i}" for i in range(len(sources))]
        for out in outs:
            out.mkdir()
        serial = [
            media_processor.process(s, o, self.specs) for s, o in zip(sources, outs, strict=True)
        ]
        for out in outs:
            for f in out.iterdir():
                f.unlink()
        with ThreadPoolExecutor(max_workers=4) as pool:
            parallel = list(
                pool.map(
                    lambda so: media_processor.process(so[0], so[1], self.specs),
                    zip(sources, outs, strict=True),
                )
            )
        for a, b, out in zip(serial, parallel, outs, strict=True):
            self.check_outputs(b, out)
            assert a.info == b.info
            assert [(r.width, r.height) for r in a.renditions] == [
                (r.width, r.height) for r in b.renditions
            ]

    # -------------------------------------------------------------- bad input

    @pytest.mark.parametrize("name", sorted(NOT_IMAGES))
    def test_rejects_non_images(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path, name: str
    ) -> None:
        source = tmp_path / name
        source.write_bytes(NOT_IMAGES[name])
        self.assert_rejected(media_processor, source, out_dir)

    @pytest.mark.parametrize(
        "maker",
        [make_truncated_jpeg, make_truncated_png, make_zero_size_png],
        ids=["truncated-jpeg", "truncated-png", "zero-size"],
    )
    def test_rejects_damaged(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path, maker: Any
    ) -> None:
        self.assert_rejected(media_processor, maker(tmp_path / "bad"), out_dir)

    @pytest.mark.parametrize(
        "maker", [make_bomb_png, make_bomb_jpeg, make_bomb_gif], ids=["png", "jpeg", "gif"]
    )
    def test_rejects_decompression_bombs(
        self, media_processor: MediaProcessor, tmp_path: Path, out_dir: Path, maker: Any
    ) -> None:
        self.assert_rejected(media_processor, maker(tmp_path / "bomb"), out_dir)
