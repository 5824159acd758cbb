"""Issue 20 media: HEIC/HEIF and TIFF input, and ``animated`` only for real animations.

The test files are made here with the libraries themselves (pillow-heif encodes HEIC), so no
binary is committed."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageSequence
from salon.defaults import pillow_media
from salon.defaults.pillow_media import DEFAULT_SPECS, PillowMediaProcessor
from salon.errors import UnsupportedMedia
from salon.testing.contracts.media import make_animated_gif, make_animated_webp

RED, BLUE = (255, 0, 0), (0, 0, 255)


def _halves(size: tuple[int, int] = (400, 200)) -> Image.Image:
    """Left half red, right half blue: orientation shows in where the colours end up."""
    im = Image.new("RGB", size, RED)
    im.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return im


def _orientation6() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    exif[0x010F] = "Apple"
    return exif.tobytes()


@pytest.fixture
def processor() -> PillowMediaProcessor:
    return PillowMediaProcessor(max_pixels=20_000_000)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    return out


def _near(got: tuple[int, ...], want: tuple[int, int, int], tol: int = 30) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(got[:3], want, strict=True))


def test_heic_upright_from_the_container(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    # pillow-heif writes the EXIF orientation as the container's rotation (irot), as iPhones
    # do; the displayed picture is portrait with red on top.
    src = tmp_path / "IMG_0001.HEIC"
    _halves().save(src, "HEIF", exif=_orientation6(), quality=90)
    assert src.read_bytes()[4:12] == b"ftypheic"
    info = processor.probe(src)
    assert (info.content_type, info.width, info.height) == ("image/heic", 200, 400)
    result = processor.process(src, out_dir, DEFAULT_SPECS)
    assert (result.info.width, result.info.height) == (200, 400)
    assert result.info.metadata["format"] == "HEIF"
    assert result.info.metadata.get("camera_make") == "Apple"
    assert "animated" not in result.info.metadata
    for rendition in result.renditions:
        im = Image.open(rendition.path)
        assert im.format == "WEBP" and im.height > im.width
        assert _near(im.getpixel((im.width // 2, im.height // 5)), RED)
        assert _near(im.getpixel((im.width // 2, im.height * 4 // 5)), BLUE)


def test_heic_pixel_limits_apply(tmp_path: Path, out_dir: Path) -> None:
    src = tmp_path / "big.heic"
    _halves((600, 400)).save(src, "HEIF", quality=50)
    with pytest.raises(UnsupportedMedia, match="too large"):
        PillowMediaProcessor(max_pixels=200_000).probe(src)
    with pytest.raises(UnsupportedMedia, match="too large"):
        PillowMediaProcessor(max_pixels=200_000).process(src, out_dir, DEFAULT_SPECS)
    assert not list(out_dir.iterdir())


def test_truncated_heic_is_refused(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    buf = io.BytesIO()
    _halves().save(buf, "HEIF", quality=90)
    src = tmp_path / "cut.heic"
    src.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(UnsupportedMedia):
        processor.process(src, out_dir, DEFAULT_SPECS)
    assert not list(out_dir.iterdir())


def test_tiff_orientation_and_first_page(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    src = tmp_path / "scan.tif"
    second = Image.new("RGB", (400, 200), (0, 255, 0))
    _halves().save(src, "TIFF", exif=_orientation6(), save_all=True, append_images=[second])
    result = processor.process(src, out_dir, DEFAULT_SPECS)
    assert result.info.content_type == "image/tiff"
    assert (result.info.width, result.info.height) == (200, 400)
    assert "animated" not in result.info.metadata, "a second page is not an animation"
    im = Image.open(result.renditions[0].path)
    assert _near(im.getpixel((im.width // 2, im.height // 5)), RED), "first page, upright"


def test_tiff_pixel_limits_apply(tmp_path: Path, out_dir: Path) -> None:
    src = tmp_path / "big.tif"
    _halves((600, 400)).save(src, "TIFF")
    with pytest.raises(UnsupportedMedia, match="too large"):
        PillowMediaProcessor(max_pixels=200_000).process(src, out_dir, DEFAULT_SPECS)


def test_mpo_second_picture_is_not_animation(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    src = tmp_path / "phone.jpg"
    _halves().save(src, "MPO", save_all=True, append_images=[_halves()])
    with Image.open(src) as check:
        assert check.format == "MPO" and check.n_frames == 2
    result = processor.process(src, out_dir, DEFAULT_SPECS)
    assert result.info.content_type == "image/jpeg"
    assert "animated" not in result.info.metadata


@pytest.mark.parametrize("maker", [make_animated_gif, make_animated_webp], ids=["gif", "webp"])
def test_real_animations_are_animated(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, maker: object
) -> None:
    result = processor.process(maker(tmp_path / "a"), out_dir, DEFAULT_SPECS)  # type: ignore[operator]
    assert result.info.metadata["animated"] is True


@pytest.mark.parametrize("maker", [make_animated_gif, make_animated_webp], ids=["gif", "webp"])
def test_the_largest_webp_rendition_moves(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path, maker: object
) -> None:
    """Share pages and members' lightboxes show renditions only: an animation moved nowhere
    but in the owner's lightbox (outside photographer, s29). The largest WebP rendition has
    every frame, in order and with its duration; the smaller ones stay stills."""
    result = processor.process(maker(tmp_path / "a"), out_dir, DEFAULT_SPECS)  # type: ignore[operator]
    assert result.info.metadata["animated_rendition"] == "lg"
    by_name = {r.name: r for r in result.renditions}
    with Image.open(by_name["lg"].path) as moving:
        assert moving.format == "WEBP" and moving.n_frames == 3
        colours = []
        for frame in ImageSequence.Iterator(moving):
            colours.append(frame.convert("RGB").getpixel((5, 5)))
            assert frame.info["duration"] == 100
    assert [max(range(3), key=lambda c: rgb[c]) for rgb in colours] == [0, 1, 2]  # R, G, B
    assert by_name["lg"].size == by_name["lg"].path.stat().st_size
    with Image.open(by_name["sm"].path) as still:
        assert getattr(still, "n_frames", 1) == 1


def test_too_many_frames_keep_the_still(
    processor: PillowMediaProcessor,
    tmp_path: Path,
    out_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for budget, value in (("ANIMATION_PIXELS", 100), ("ANIMATION_FRAMES", 2)):
        with monkeypatch.context() as patch:
            patch.setattr(pillow_media, budget, value)
            out = out_dir / budget
            out.mkdir()
            result = processor.process(make_animated_gif(tmp_path / "a.gif"), out, DEFAULT_SPECS)
        assert result.info.metadata["animated"] is True
        assert "animated_rendition" not in result.info.metadata, budget
        lg = next(r for r in result.renditions if r.name == "lg")
        with Image.open(lg.path) as still:
            assert getattr(still, "n_frames", 1) == 1


def _gif(*colours: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    first, *rest = (Image.new("RGB", (60, 40), c) for c in colours)
    first.save(out, "GIF", save_all=True, append_images=rest, duration=100, loop=0)
    return out.getvalue()


def test_a_bomb_in_a_later_frame_keeps_the_still(
    processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path
) -> None:
    """The first frame is 60 x 40; the second declares 65535 x 65535 extents (Pillow's
    decompression_bomb_extents.gif): the renditions of the first frame stand, nothing moves."""
    data = bytearray(_gif(RED, BLUE))
    second = data.rindex(b"\x2c\x00\x00\x00\x00" + struct.pack("<HH", 60, 40))
    data[second + 5 : second + 9] = struct.pack("<HH", 65535, 65535)
    src = tmp_path / "bomb.gif"
    src.write_bytes(bytes(data))
    result = processor.process(src, out_dir, DEFAULT_SPECS)
    assert result.info.metadata["animated"] is True
    assert "animated_rendition" not in result.info.metadata
    assert {r.name for r in result.renditions} == {s.name for s in DEFAULT_SPECS}


def test_apng_is_animated(processor: PillowMediaProcessor, tmp_path: Path, out_dir: Path) -> None:
    src = tmp_path / "a.png"
    frames = [Image.new("RGB", (60, 40), c) for c in (RED, BLUE)]
    frames[0].save(src, "PNG", save_all=True, append_images=frames[1:], duration=100)
    result = processor.process(src, out_dir, DEFAULT_SPECS)
    assert result.info.metadata["animated"] is True
