"""The built-in Pillow media processor: the public contract suite plus its own details."""

from __future__ import annotations

import base64
import datetime as dt
import io
import resource
import struct
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import thumbhash
from PIL import Image, ImageFile
from salon.defaults import pillow_media
from salon.defaults.pillow_media import DEFAULT_SPECS, PillowMediaProcessor
from salon.errors import MediaTooLarge, ProviderError, UnsupportedMedia
from salon.providers import MediaProcessor, ProviderContext, RenditionSpec
from salon.testing.contracts.media import (
    EXIF_MAKE,
    EXIF_MODEL,
    MediaProcessorContract,
    make_animated_gif,
    make_bomb_png,
    make_exif_jpeg,
    png_bytes,
    quadrant_image,
)


class TestPillowContract(MediaProcessorContract):
    @pytest.fixture
    def media_processor(self) -> MediaProcessor:
        return PillowMediaProcessor(max_pixels=100_000_000)


@pytest.fixture
def processor() -> PillowMediaProcessor:
    return PillowMediaProcessor(max_pixels=20_000_000)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out


def _jpeg(path: Path, size: tuple[int, int], *, exif: Image.Exif | None = None) -> Path:
    kwargs = {"exif": exif.tobytes()} if exif is not None else {}
    quadrant_image(size).save(path, "JPEG", quality=90, **kwargs)
    return path


def test_is_a_media_processor() -> None:
    assert isinstance(PillowMediaProcessor(), MediaProcessor)


def test_from_context_reads_max_pixels(tmp_path: Path) -> None:
    ctx = ProviderContext(core=SimpleNamespace(max_pixels=1234), settings=None, data_dir=tmp_path)
    assert PillowMediaProcessor.from_context(ctx).max_pixels == 1234


def test_registers_as_pillow() -> None:
    offered: dict[str, object] = {}
    pillow_media.register_media_processors(lambda name, factory: offered.__setitem__(name, factory))
    assert offered == {"pillow": PillowMediaProcessor.from_context}


def test_default_specs_sizes_and_webp(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    source = _jpeg(tmp_path / "big.jpg", (3000, 2000))
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    sizes = {r.name: (r.width, r.height) for r in result.renditions}
    assert sizes == {"sm": (320, 213), "md": (1024, 683), "lg": (2048, 1365)}
    for r in result.renditions:
        assert r.content_type == "image/webp" and r.path == out_dir / f"{r.name}.webp"
        with Image.open(r.path) as im:
            assert im.format == "WEBP" and im.size == (r.width, r.height)


def test_portrait_orientation_with_draft(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    # 4000x3000 stored, orientation 8: displayed 3000x4000; the JPEG is decoded at 1/2 for md.
    exif = Image.Exif()
    exif[0x0112] = 8
    source = _jpeg(tmp_path / "p.jpg", (4000, 3000), exif=exif)
    specs = [RenditionSpec("md", 1024), RenditionSpec("sm", 320)]
    result = processor.process(source, out_dir, specs)
    assert (result.info.width, result.info.height) == (3000, 4000)
    assert [(r.width, r.height) for r in result.renditions] == [(768, 1024), (240, 320)]
    assert result.info.metadata["orientation"] == 8


def test_jpeg_decoded_once_at_reduced_scale(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _jpeg(tmp_path / "d.jpg", (4000, 3000))
    calls: list[tuple[str | None, tuple[int, int] | None]] = []
    loads: list[tuple[int, int]] = []
    from PIL import JpegImagePlugin

    real_draft = JpegImagePlugin.JpegImageFile.draft
    real_load = ImageFile.ImageFile.load

    def spy_draft(self: Image.Image, mode: str | None, size: tuple[int, int] | None):  # type: ignore[no-untyped-def]
        calls.append((mode, size))
        return real_draft(self, mode, size)

    def spy_load(self: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        if self.tile:
            loads.append(self.size)
        return real_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy_draft)
    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    processor.process(source, out_dir, [RenditionSpec("md", 1024), RenditionSpec("sm", 320)])
    assert calls == [(None, (1024, 768))]
    # one decode, at 1/2 scale: 1/4 (1000 px) would no longer cover the 1024 px rendition
    assert loads == [(2000, 1500)]


def test_taken_at_without_offset_is_the_wall_clock(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    exif = Image.Exif()
    exif[0x8769] = {0x9003: "2023:12:31 23:59:58"}
    result = processor.process(
        _jpeg(tmp_path / "t.jpg", (64, 48), exif=exif), out_dir, DEFAULT_SPECS
    )
    # The camera's wall clock as written (labelled UTC), marked as a local time.
    assert result.info.taken_at == dt.datetime(2023, 12, 31, 23, 59, 58, tzinfo=dt.UTC)
    assert result.info.taken_at is not None and result.info.taken_at.utcoffset() == dt.timedelta(0)
    assert result.info.metadata["taken_at_zone"] == "local"


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2024:05:17 14:03:21", "-05:30", dt.datetime(2024, 5, 17, 19, 33, 21, tzinfo=dt.UTC)),
        ("2024:05:17 14:03:21", "garbage", dt.datetime(2024, 5, 17, 14, 3, 21, tzinfo=dt.UTC)),
        ("0000:00:00 00:00:00", None, None),
        ("    :  :     :  :  ", None, None),
        (b"2020:02:29 01:02:03\x00", None, dt.datetime(2020, 2, 29, 1, 2, 3, tzinfo=dt.UTC)),
        (12345, None, None),
    ],
)
def test_parse_taken(value: object, offset: object, expected: dt.datetime | None) -> None:
    assert pillow_media._parse_taken(value, offset) == expected


def test_metadata_is_safe(processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path) -> None:
    result = processor.process(make_exif_jpeg(tmp_path / "e.jpg"), out_dir, DEFAULT_SPECS)
    assert result.info.metadata == {
        "format": "JPEG",
        "camera_make": EXIF_MAKE,
        "camera_model": EXIF_MODEL,
        "taken_at_zone": "+02:00",
        "orientation": 6,
    }
    assert set(result.info.metadata) <= set(pillow_media.METADATA_KEYS)


def test_animated_flag(processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path) -> None:
    result = processor.process(make_animated_gif(tmp_path / "a.gif"), out_dir, DEFAULT_SPECS)
    assert result.info.metadata["animated"] is True
    assert result.info.metadata["format"] == "GIF"


def test_placeholder_is_thumbhash_of_the_upright_image(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    result = processor.process(
        make_exif_jpeg(tmp_path / "e.jpg", orientation=6), out_dir, DEFAULT_SPECS
    )
    assert result.placeholder is not None
    decoded = list(base64.b64decode(result.placeholder, validate=True))
    ratio = thumbhash.thumb_hash_to_approximate_aspect_ratio(decoded)
    assert ratio == pytest.approx(300 / 400, abs=0.15), "portrait after orientation"
    r, g, b, a = thumbhash.thumb_hash_to_average_rgba(decoded)
    # the average of the four quadrants (red, green, blue, white)
    assert (r, g, b) == pytest.approx((129 / 255, 121 / 255, 129 / 255), abs=0.06)
    assert a == 1.0


def test_thumbhash_matches_the_reference_encoder_on_opaque_images() -> None:
    # The thumbhash package implements the same algorithm (with Python's banker's rounding,
    # which only differs on exact .5 ties); for opaque images it is a usable oracle.
    im = Image.radial_gradient("L").convert("RGB").resize((100, 75)).convert("RGBA")
    ours = pillow_media.thumbhash_encode(im.width, im.height, im.tobytes())
    assert ours == bytes(thumbhash.rgba_to_thumb_hash(im.width, im.height, list(im.tobytes())))


def test_thumbhash_with_alpha() -> None:
    im = Image.new("RGBA", (32, 16), (255, 0, 0, 0))
    im.paste((255, 0, 0, 255), (16, 0, 32, 16))
    decoded = list(pillow_media.thumbhash_encode(32, 16, im.tobytes()))
    assert decoded[2] & 0x80, "has-alpha bit"
    r, g, b, a = thumbhash.thumb_hash_to_average_rgba(decoded)
    assert a == pytest.approx(0.5, abs=0.07) and r > 0.9 and g < 0.1 and b < 0.1
    assert thumbhash.thumb_hash_to_approximate_aspect_ratio(decoded) == pytest.approx(2, abs=0.6)


@pytest.mark.parametrize("size", [(0, 1), (101, 10), (10, 10)])
def test_thumbhash_rejects_bad_input(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        pillow_media.thumbhash_encode(*size, b"\x00" * 12)


def test_renditions_carry_no_icc_profile(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    """The pixels are sRGB; no byte of the uploader's profile rides along (issue 17.13)."""
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / "icc.jpg"
    quadrant_image((100, 80)).save(source, "JPEG", icc_profile=icc)
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    for rendition in result.renditions:
        with Image.open(rendition.path) as im:
            assert "icc_profile" not in im.info
            r, g, b = im.convert("RGB").getpixel((10, 10))  # type: ignore[misc]
            assert r > 200 and g < 60 and b < 60  # the red quadrant stays red


def test_grey_image_with_grey_profile_becomes_srgb(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    from PIL import ImageCms

    grey = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    source = tmp_path / "grey.png"
    Image.new("L", (60, 40), 128).save(source, "PNG", icc_profile=grey)  # a mismatched profile
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    with Image.open(result.renditions[0].path) as im:
        assert "icc_profile" not in im.info
        assert im.convert("RGB").getpixel((30, 20)) == pytest.approx((128, 128, 128), abs=3)


@pytest.mark.parametrize("mode", ["1", "P", "L", "I;16", "RGB", "RGBA", "LA", "CMYK"])
def test_large_images_shrink_in_their_own_mode_first(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, mode: str
) -> None:
    """Every mode survives the shrink-before-convert step with its colours (left dark, right
    light) and gives renditions of the right size."""
    im = Image.new("RGB", (5000, 1000), (0, 0, 0))
    im.paste((255, 255, 255), (2500, 0, 5000, 1000))
    if mode == "1":
        im = im.convert("1", dither=Image.Dither.NONE)
    elif mode == "I;16":
        im = im.convert("L").convert("I").point(lambda v: v * 256).convert("I;16")
    elif mode == "P":
        im = im.convert("P")
    else:
        im = im.convert(mode)
    source = tmp_path / ("big.png" if mode != "CMYK" else "big.jpg")
    im.save(source, "PNG" if mode != "CMYK" else "JPEG")
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    sizes = {r.name: (r.width, r.height) for r in result.renditions}
    assert sizes["lg"] == (2048, 410) and sizes["sm"] == (320, 64)
    with Image.open(result.renditions[0].path) as out:
        rgb = out.convert("RGB")
        left, right = rgb.getpixel((20, 32)), rgb.getpixel((300, 32))
        assert max(left) < 40 and min(right) > 215, (left, right)  # type: ignore[arg-type]


def test_pixels_per_byte_bound(tmp_path: Path, out_dir: Path) -> None:
    """A tiny file declaring a huge picture is refused before decoding (issue 17.4)."""
    source = tmp_path / "bomb.png"
    Image.new("1", (5000, 4000), 1).save(source, "PNG", optimize=True)
    assert source.stat().st_size * 1000 < 20_000_000
    with pytest.raises(UnsupportedMedia, match="pixels per byte"):
        PillowMediaProcessor().process(source, out_dir, DEFAULT_SPECS)
    assert list(out_dir.iterdir()) == []
    # A lower ratio or a smaller image is decoded as usual.
    lenient = PillowMediaProcessor(max_pixels_per_byte=100_000)
    assert len(lenient.process(source, out_dir, DEFAULT_SPECS).renditions) == 3


def test_processor_pickles_with_its_limits() -> None:
    import pickle

    copy = pickle.loads(pickle.dumps(PillowMediaProcessor(decode_concurrency=3)))
    assert copy.decode_concurrency == 3
    assert copy._decode_slots.acquire(blocking=False)


def test_lab_or_cmyk_icc_never_attached_to_rgb_output(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    from PIL import ImageCms

    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    source = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (50, 40), (0, 255, 255, 0)).save(source, "JPEG", icc_profile=lab)
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    with Image.open(result.renditions[0].path) as im:
        assert "icc_profile" not in im.info
        r, g, b = im.convert("RGB").getpixel((25, 20))  # type: ignore[misc]
        assert r > 180 and g < 90 and b < 90


def test_max_pixels_checked_before_decoding(tmp_path: Path, out_dir: Path) -> None:
    small_limit = PillowMediaProcessor(max_pixels=1_000_000)
    source = _jpeg(tmp_path / "big.jpg", (1200, 1000))
    with pytest.raises(
        UnsupportedMedia,
        match=r"too large: 1200 x 1000 pixels \(1.2 MP\).* at most 1 MP \(SALON_MAX_PIXELS\)",
    ):
        small_limit.process(source, out_dir, DEFAULT_SPECS)
    assert list(out_dir.iterdir()) == []
    # the same file is fine under a larger limit: the limit is per processor, not global
    PillowMediaProcessor(max_pixels=2_000_000).process(source, out_dir, DEFAULT_SPECS)


def test_past_pillows_own_guard_the_setting_decides(tmp_path: Path, out_dir: Path) -> None:
    """A 200 MP phone photo (12240 x 16320) trips Pillow's process-wide guard (about 179 MP)
    while its header is read; the refusal still names its size, the limit and the setting
    (outside photographer, s29), and a raised ``max_pixels`` is what decides."""
    assert 2 * (Image.MAX_IMAGE_PIXELS or 0) < 12240 * 16320
    source = make_bomb_png(tmp_path / "200mp.png", 12240, 16320)
    with pytest.raises(MediaTooLarge) as refused:
        PillowMediaProcessor().process(source, out_dir, DEFAULT_SPECS)
    assert str(refused.value) == (
        "The image is too large: 12240 x 16320 pixels (200 MP); this server accepts at most 100 MP "
        "(SALON_MAX_PIXELS)."
    )
    # Raised to 250 MP, the header passes the size check: the next refusal is Salon's own
    # density check on these few bytes, not Pillow's guard.
    with pytest.raises(MediaTooLarge, match="decompression bomb"):
        PillowMediaProcessor(max_pixels=250_000_000).probe(source)
    assert list(out_dir.iterdir()) == []


def test_global_pillow_limit_untouched(tmp_path: Path, out_dir: Path) -> None:
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(UnsupportedMedia):
        PillowMediaProcessor(max_pixels=10).process(
            _jpeg(tmp_path / "x.jpg", (8, 8)), out_dir, DEFAULT_SPECS
        )
    assert before == Image.MAX_IMAGE_PIXELS


def test_bomb_does_not_allocate(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    # 40000 x 40000 RGB would be 4.8 GB; refusing it must not grow the process noticeably.
    source = make_bomb_png(tmp_path / "bomb.png", 40_000, 40_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(UnsupportedMedia, match="too large"):
        processor.process(source, out_dir, DEFAULT_SPECS)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 200_000


@pytest.mark.parametrize(
    ("size", "match"),
    [((1, 200), "longer than 100 times"), ((70_000, 2), "sides up to 65535")],
)
def test_absurd_dimensions(
    processor: PillowMediaProcessor,
    tmp_path: Path,
    out_dir: Path,
    size: tuple[int, int],
    match: str,
) -> None:
    w, h = size
    source = tmp_path / "strip.png"
    source.write_bytes(png_bytes(w, h, 8, 0, (b"\x00" + b"\x80" * w) * h))
    with pytest.raises(UnsupportedMedia, match=match):
        processor.process(source, out_dir, DEFAULT_SPECS)


def test_wide_panorama_accepted(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    source = _jpeg(tmp_path / "pano.jpg", (4000, 200))
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    assert [(r.width, r.height) for r in result.renditions] == [(320, 16), (1024, 51), (2048, 102)]


def test_messages_are_plain(processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path) -> None:
    empty = tmp_path / "e.jpg"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedMedia, match=r"^The file is empty\.$"):
        processor.process(empty, out_dir, DEFAULT_SPECS)
    html = tmp_path / "x.jpg"
    html.write_bytes(b"<html></html>")
    with pytest.raises(
        UnsupportedMedia, match=r"not an image Salon can read \(accepted: JPEG, PNG"
    ):
        processor.process(html, out_dir, DEFAULT_SPECS)


def test_corrupt_png_data(processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path) -> None:
    buf = io.BytesIO()
    Image.linear_gradient("L").save(buf, "PNG")
    data = bytearray(buf.getvalue())
    idat = data.find(b"IDAT")
    for i in range(idat + 10, idat + 40):
        data[i] ^= 0x5A
    source = tmp_path / "c.png"
    source.write_bytes(bytes(data))
    with pytest.raises(UnsupportedMedia, match="damaged"):
        processor.process(source, out_dir, DEFAULT_SPECS)


def test_refuses_when_truncated_loading_is_enabled(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ProviderError, match="LOAD_TRUNCATED_IMAGES"):
        processor.process(_jpeg(tmp_path / "a.jpg", (8, 8)), out_dir, DEFAULT_SPECS)


def test_write_failure_leaves_nothing(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_save = Image.Image.save
    count = {"n": 0}

    def failing_save(self: Image.Image, fp, *args, **kwargs):  # type: ignore[no-untyped-def]
        count["n"] += 1
        if count["n"] == 2:
            Path(fp).write_bytes(b"partial")
            raise OSError(28, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(ProviderError, match="cannot write rendition"):
        processor.process(_jpeg(tmp_path / "a.jpg", (600, 400)), out_dir, DEFAULT_SPECS)
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    "specs",
    [
        [RenditionSpec("a", 10), RenditionSpec("a", 20)],
        [RenditionSpec("a", 0)],
        [RenditionSpec("a", 10, format="BMP")],
        [RenditionSpec("../etc", 10)],
    ],
)
def test_bad_specs_are_programming_errors(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, specs: list[RenditionSpec]
) -> None:
    with pytest.raises(ValueError):
        processor.process(_jpeg(tmp_path / "a.jpg", (8, 8)), out_dir, specs)


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_other_output_formats(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, fmt: str, mime: str
) -> None:
    source = tmp_path / "a.png"
    Image.new("RGBA", (100, 50), (255, 0, 0, 128)).save(source)
    result = processor.process(source, out_dir, [RenditionSpec("x", 40, format=fmt)])
    (r,) = result.renditions
    assert r.content_type == mime
    with Image.open(r.path) as im:
        assert Image.MIME[im.format or ""] == mime and im.size == (40, 20)


def test_empty_specs_still_gives_info_and_placeholder(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    result = processor.process(make_exif_jpeg(tmp_path / "e.jpg"), out_dir, [])
    assert result.renditions == [] and result.placeholder
    assert (result.info.width, result.info.height) == (300, 400)


def test_outputs_are_deterministic(processor: PillowMediaProcessor, tmp_path: Path) -> None:
    source = make_exif_jpeg(tmp_path / "e.jpg")
    outs = [tmp_path / "o1", tmp_path / "o2"]
    results = []
    for out in outs:
        out.mkdir()
        results.append(processor.process(source, out, DEFAULT_SPECS))
    a, b = results
    assert a.placeholder == b.placeholder
    for ra, rb in zip(a.renditions, b.renditions, strict=True):
        assert ra.path.read_bytes() == rb.path.read_bytes()


def test_mpo_is_reported_as_jpeg(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    source = tmp_path / "multi.jpg"
    frames = [quadrant_image((160, 120)), quadrant_image((160, 120)).rotate(180)]
    frames[0].save(source, "MPO", save_all=True, append_images=frames[1:])
    with Image.open(source) as check:
        if check.format != "MPO":
            pytest.skip(f"this Pillow saved {check.format}, not MPO")
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    assert result.info.content_type == "image/jpeg"
    assert result.info.metadata["format"] == "JPEG"


def test_avif_when_supported(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow build has no AVIF support")
    source = tmp_path / "a.avif"
    quadrant_image((120, 90)).save(source, "AVIF", quality=90)
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    assert result.info.content_type == "image/avif"
    assert "image/avif" in processor.content_types
    assert (result.renditions[0].width, result.renditions[0].height) == (120, 90)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_exif_with_broken_ifd_is_ignored(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    # An APP1 Exif segment whose IFD offset points past the end: the image is still fine.
    bad_exif = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 0xFFFFFF)
    source = tmp_path / "b.jpg"
    quadrant_image((80, 60)).save(source, "JPEG", exif=bad_exif)
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    assert result.info.taken_at is None and result.info.metadata["orientation"] == 1


def test_probe_reads_what_process_finds_without_decoding(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed portrait
    exif[0x010F] = "Camera Co"
    source = _jpeg(tmp_path / "p.jpg", (1200, 800), exif=exif)
    probed = processor.probe(source)
    processed = processor.process(source, out_dir, DEFAULT_SPECS).info
    assert (probed.width, probed.height) == (800, 1200)
    assert (probed.content_type, probed.width, probed.height, probed.taken_at) == (
        processed.content_type,
        processed.width,
        processed.height,
        processed.taken_at,
    )
    assert probed.metadata == processed.metadata


def test_probe_refuses_what_process_refuses_before_decoding(tmp_path: Path) -> None:
    small_limit = PillowMediaProcessor(max_pixels=1_000_000)
    big = _jpeg(tmp_path / "big.jpg", (1200, 1000))
    with pytest.raises(UnsupportedMedia, match="too large"):
        small_limit.probe(big)
    html = tmp_path / "x.jpg"
    html.write_bytes(b"<html><script>alert(1)</script></html>")
    with pytest.raises(UnsupportedMedia, match="not an image"):
        small_limit.probe(html)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(UnsupportedMedia, match="empty"):
        small_limit.probe(empty)
    # A cut-short pixel stream has intact headers: only process() can find it.
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(_jpeg(tmp_path / "whole.jpg", (640, 480)).read_bytes()[:2000])
    assert small_limit.probe(truncated).width == 640


def test_format_sniffing_is_linear_on_hostile_bytes() -> None:
    """The first bytes of any upload are matched against other formats' signatures: no
    pattern may backtrack (a regular expression with nested repetition took minutes on
    repeated comment markers)."""
    import time

    for head in (b"<!---->" * 9000, b"<!--" * 16000, b"<?xml" * 12000, b" " * 65536):
        started = time.perf_counter()
        assert pillow_media._other_format(head[: pillow_media._SNIFF_BYTES]) is None
        assert time.perf_counter() - started < 0.5


def test_tiff_in_a_compression_libtiff_lacks_is_a_variant_not_damage(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    """A valid TIFF with WebP compression (Pillow's hopper_webp.tif) on a libtiff built without
    WebP was called damaged (outside photographer, s29): it is an unsupported variant, named."""
    if not pillow_media._tiff_codec_missing("webp"):
        pytest.skip("this libtiff decodes WebP TIFFs; the refusal cannot be provoked here")
    source = tmp_path / "webp.tif"
    Image.new("RGB", (16, 16), (200, 10, 10)).save(source, "TIFF", compression="raw")
    data = source.read_bytes()
    entry = b"\x03\x01\x03\x00\x01\x00\x00\x00\x01\x00"  # Compression (259) = 1, none
    assert data.count(entry) == 1
    source.write_bytes(data.replace(entry, entry[:8] + struct.pack("<H", 50001)))  # WebP
    with pytest.raises(UnsupportedMedia) as refused:
        processor.process(source, out_dir, DEFAULT_SPECS)
    assert refused.value.reason == "unsupported_variant"
    assert "WebP compression" in str(refused.value)
    assert list(out_dir.iterdir()) == []
    # A TIFF in a compression libtiff reads is still damaged when its data is cut short.
    lzw = tmp_path / "lzw.tif"
    Image.effect_noise((64, 64), 60).save(lzw, "TIFF", compression="tiff_lzw")
    lzw.write_bytes(lzw.read_bytes()[:-2000])
    with pytest.raises(UnsupportedMedia) as cut:
        processor.process(lzw, out_dir, DEFAULT_SPECS)
    assert cut.value.reason == "damaged"


def _twelve_bit_jpeg(path: Path) -> Path:
    _jpeg(path, (40, 30))
    data = bytearray(path.read_bytes())
    data[data.index(b"\xff\xc0") + 4] = 12  # the frame header's sample precision
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("make", "kind", "reason", "match"),
    [
        (
            lambda p: p.write_bytes(b"hello, not a picture"),
            UnsupportedMedia,
            "not_an_image",
            "accepted",
        ),
        (lambda p: p.write_bytes(b"BM" + bytes(70)), UnsupportedMedia, "unsupported_format", "BMP"),
        (
            lambda p: p.write_bytes(b"P1\n2 2\n0 1 1 0\n"),
            UnsupportedMedia,
            "unsupported_format",
            "PBM",
        ),
        (
            lambda p: p.write_bytes(b'<?xml version="1.0"?>\n<svg xmlns="x"/>'),
            UnsupportedMedia,
            "unsupported_format",
            "SVG",
        ),
        (
            lambda p: p.write_bytes(b"\xc5\xd0\xd3\xc6" + bytes(60)),
            UnsupportedMedia,
            "unsupported_format",
            "EPS/PostScript",
        ),
        (
            lambda p: p.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n"),
            UnsupportedMedia,
            "unsupported_format",
            "EPS/PostScript",
        ),
        (_twelve_bit_jpeg, UnsupportedMedia, "unsupported_variant", "12-bit JPEG"),
        (
            lambda p: p.write_bytes(png_bytes(200, 1, 8, 0, b"\x00" + b"\x80" * 200)),
            UnsupportedMedia,
            "unsupported_variant",
            "100 times",
        ),
        (
            lambda p: p.write_bytes(_jpeg(p, (60, 40)).read_bytes()[:400]),
            UnsupportedMedia,
            "damaged",
            "damaged",
        ),
        (
            lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(30)),
            UnsupportedMedia,
            "damaged",
            "PNG",
        ),
        (lambda p: make_bomb_png(p, 20_000, 20_000), MediaTooLarge, "too_large", "too large"),
        (lambda p: p.write_bytes(b""), UnsupportedMedia, "empty", "empty"),
    ],
    ids=[
        "text",
        "bmp",
        "pbm",
        "svg",
        "dos-eps",
        "eps",
        "12-bit",
        "strip",
        "truncated",
        "png-head",
        "bomb",
        "empty",
    ],
)
def test_refusals_say_why(
    processor: PillowMediaProcessor,
    tmp_path: Path,
    out_dir: Path,
    make: Any,
    kind: type[UnsupportedMedia],
    reason: str,
    match: str,
) -> None:
    """Each refusal names its kind (the API's ``reason``; too_large is 413, the rest 415),
    from the headers (probe) and from the full decode alike, and survives pickling (worker
    processes)."""
    import pickle

    source = tmp_path / "upload.bin"
    make(source)
    refusals = []
    try:
        processor.probe(source)  # headers only: a damaged pixel stream passes here
    except UnsupportedMedia as exc:
        refusals.append(exc)
    with pytest.raises(UnsupportedMedia, match=match) as caught:
        processor.process(source, out_dir, DEFAULT_SPECS)
    refusals.append(caught.value)
    for refusal in refusals:
        assert type(refusal) is kind and refusal.reason == reason, refusal
        again = pickle.loads(pickle.dumps(refusal))
        assert type(again) is kind and again.reason == reason and str(again) == str(refusal)
    assert list(out_dir.iterdir()) == []


# --------------------------------------------------------------------------- reduced-scale decode


def _corners(im: Image.Image) -> list[tuple[int, ...]]:
    """The colours a quarter of the way in from each corner (away from blurred edges)."""
    rgb = im.convert("RGB")
    w, h = rgb.size
    return [
        rgb.getpixel((x, y))
        for x, y in (
            (w // 4, h // 4),
            (3 * w // 4, h // 4),
            (w // 4, 3 * h // 4),
            (3 * w // 4, 3 * h // 4),
        )
    ]  # type: ignore[misc]


def _near(a: list[tuple[int, ...]], b: list[tuple[int, ...]]) -> bool:
    return all(abs(x - y) <= 12 for pa, pb in zip(a, b, strict=True) for x, y in zip(pa, pb))


def _spy_loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    loads: list[tuple[int, int]] = []
    real_load = ImageFile.ImageFile.load

    def spy_load(self: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        if self.tile:
            loads.append(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy_load)
    return loads


@pytest.mark.parametrize("progressive", [False, True])
def test_draft_decode_keeps_orientation_and_exact_sizes(
    processor: PillowMediaProcessor,
    tmp_path: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    progressive: bool,
) -> None:
    # 5200x3600 stored, orientation 6: decoded at 1/2 (2600x1800 still covers lg's 2048 px),
    # then every rendition upright and exactly the size a full-scale decode would give.
    exif = Image.Exif()
    exif[0x0112] = 6
    source = tmp_path / "big.jpg"
    quadrant_image((5200, 3600)).save(
        source, "JPEG", quality=90, exif=exif.tobytes(), progressive=progressive
    )
    loads = _spy_loads(monkeypatch)
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    assert loads == [(2600, 1800)]
    sizes = {r.name: (r.width, r.height) for r in result.renditions}
    assert sizes == {"lg": (1418, 2048), "md": (709, 1024), "sm": (222, 320)}
    upright = _corners(quadrant_image((5200, 3600)).transpose(Image.Transpose.ROTATE_270))
    for r in result.renditions:
        with Image.open(r.path) as im:
            assert im.size == sizes[r.name]
            assert _near(_corners(im), upright), r.name


def test_jpeg_smaller_than_the_largest_rendition_is_not_upscaled(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _jpeg(tmp_path / "s.jpg", (1500, 1000))
    loads = _spy_loads(monkeypatch)
    result = processor.process(source, out_dir, DEFAULT_SPECS)
    assert loads == [(1500, 1000)]  # full scale: half (750 px) would not cover md's 1024
    sizes = {r.name: (r.width, r.height) for r in result.renditions}
    assert sizes == {"lg": (1500, 1000), "md": (1024, 683), "sm": (320, 213)}


def test_identical_renditions_are_encoded_once(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 320x240 upload: sm, md and lg are the same 320 px image; one encode, two copies.
    source = _jpeg(tmp_path / "s.jpg", (320, 240))
    saves: list[str] = []
    real_save = Image.Image.save

    def spy_save(self: Image.Image, fp, *args, **kwargs):  # type: ignore[no-untyped-def]
        saves.append(Path(fp).name)
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", spy_save)
    result = processor.process(source, out_dir, [*DEFAULT_SPECS, RenditionSpec("j", 320, "jpeg")])
    assert sorted(saves) == ["j.jpg", "sm.webp"]
    by_name = {r.name: r for r in result.renditions}
    assert [r.name for r in result.renditions] == ["sm", "md", "lg", "j"]
    sm = by_name["sm"].path.read_bytes()
    for name in ("md", "lg"):
        r = by_name[name]
        assert r.path == out_dir / f"{name}.webp" and r.path.read_bytes() == sm
        assert (r.width, r.height, r.size) == (320, 240, len(sm))


def test_webp_method_is_a_setting(tmp_path: Path, out_dir: Path) -> None:
    source = _jpeg(tmp_path / "a.jpg", (1200, 900))
    ctx = ProviderContext(
        core=SimpleNamespace(max_pixels=10**8, webp_method=6), settings=None, data_dir=tmp_path
    )
    slow = PillowMediaProcessor.from_context(ctx)
    assert slow.webp_method == 6 and PillowMediaProcessor().webp_method == 2
    fast_out = tmp_path / "fast"
    fast_out.mkdir()
    small = slow.process(source, out_dir, DEFAULT_SPECS).renditions
    fast = PillowMediaProcessor(webp_method=0).process(source, fast_out, DEFAULT_SPECS).renditions
    assert sum(r.size for r in small) < sum(r.size for r in fast)
    with pytest.raises(ValueError, match="webp_method"):
        PillowMediaProcessor(webp_method=7)


def test_concurrent_calls_share_the_encoder_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    processor = PillowMediaProcessor()
    sources = [_jpeg(tmp_path / f"{i}.jpg", (900 + 100 * i, 700)) for i in range(6)]

    def run(i: int) -> list[tuple[str, int, int]]:
        out = tmp_path / f"out{i}"
        out.mkdir()
        result = processor.process(sources[i], out, DEFAULT_SPECS)
        for r in result.renditions:
            with Image.open(r.path) as im:
                assert im.size == (r.width, r.height) and r.path.parent == out
        return [(r.name, r.width, r.height) for r in result.renditions]

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(run, range(6)))
    assert got == [
        [
            ("sm", 320, round(700 * 320 / (900 + 100 * i))),
            (
                "md",
                900 + 100 * i if i < 2 else 1024,
                700 if i < 2 else round(700 * 1024 / (900 + 100 * i)),
            ),
            ("lg", 900 + 100 * i, 700),
        ]
        for i in range(6)
    ]


def test_a_forked_child_encodes_with_threads_of_its_own(tmp_path: Path) -> None:
    import multiprocessing

    processor = PillowMediaProcessor()
    source = _jpeg(tmp_path / "a.jpg", (900, 700))
    first = tmp_path / "parent"
    first.mkdir()
    processor.process(source, first, DEFAULT_SPECS)  # the parent's threads now exist

    def child(out: str) -> None:
        processor.process(source, Path(out), DEFAULT_SPECS)

    out = tmp_path / "child"
    out.mkdir()
    proc = multiprocessing.get_context("fork").Process(target=child, args=(str(out),))
    proc.start()
    proc.join(60)
    alive = proc.is_alive()
    if alive:
        proc.kill()
    assert not alive, "the forked child waited for the parent's encoder threads"
    assert proc.exitcode == 0
    assert sorted(p.name for p in out.iterdir()) == ["lg.webp", "md.webp", "sm.webp"]
