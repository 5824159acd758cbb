"""Renditions are in sRGB whatever space the upload is in (issue 20.4): a browser that ignores
profiles shows the same colours. Each upload is a real file carrying a real ICC profile built
from its space's published definition (``icc_support``); the expected sRGB values come from
those definitions, computed without LittleCMS, and every expectation is checked to differ from
the untransformed value, so a processor that ignored the profile would fail."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from icc_support import (
    ADOBE_RGB,
    DISPLAY_P3,
    PROPHOTO,
    RgbSpace,
    cmyk_profile,
    expected_cmyk_corner,
    expected_srgb,
    rgb_profile,
)
from PIL import Image
from salon.defaults.cmyk_profile import INKS as DEFAULT_INKS
from salon.defaults.pillow_media import DEFAULT_SPECS, PillowMediaProcessor

# Lossy WebP of a flat colour (YUV rounding), and LittleCMS's 16-bit interpolation.
TOLERANCE = 4
COLOUR = (200, 120, 60)  # a skin/terracotta tone, inside sRGB in every space below


def _close(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return all(abs(g - w) <= TOLERANCE for g, w in zip(got, want, strict=True))


def _far(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) > 3 * TOLERANCE


def _renditions(source: Path, out_dir: Path) -> list[Image.Image]:
    result = PillowMediaProcessor().process(source, out_dir, DEFAULT_SPECS)
    images = []
    for rendition in result.renditions:
        with Image.open(rendition.path) as im:
            assert "icc_profile" not in im.info, f"{rendition.name} carries a profile"
            im.load()
            images.append(im.copy())
    return images


def _save_jpeg(im: Image.Image, path: Path, icc: bytes | None) -> None:
    extra = {"icc_profile": icc} if icc else {}
    im.save(path, "JPEG", quality=100, subsampling=0, **extra)


def _save_png(im: Image.Image, path: Path, icc: bytes | None) -> None:
    im.save(path, "PNG", **({"icc_profile": icc} if icc else {}))


def _save_tiff(im: Image.Image, path: Path, icc: bytes | None) -> None:
    im.save(path, "TIFF", **({"icc_profile": icc} if icc else {}))


def _save_webp(im: Image.Image, path: Path, icc: bytes | None) -> None:
    im.save(path, "WEBP", lossless=True, **({"icc_profile": icc} if icc else {}))


@pytest.mark.parametrize(
    ("space", "save", "suffix"),
    [
        (ADOBE_RGB, _save_jpeg, "jpg"),  # cameras' Adobe RGB setting
        (DISPLAY_P3, _save_png, "png"),  # iPhone screenshots
        (DISPLAY_P3, _save_webp, "webp"),
        (PROPHOTO, _save_tiff, "tif"),  # Lightroom exports
        (PROPHOTO, _save_jpeg, "jpg"),
    ],
    ids=["adobe-rgb-jpeg", "p3-png", "p3-webp", "prophoto-tiff", "prophoto-jpeg"],
)
def test_wide_gamut_rgb_lands_in_srgb(
    tmp_path: Path,
    out_dir: Path,
    space: RgbSpace,
    save: Callable[[Image.Image, Path, bytes | None], None],
    suffix: str,
) -> None:
    want = expected_srgb(space, COLOUR)
    assert _far(want, COLOUR), (want, COLOUR)  # ignoring the profile would be caught
    source = tmp_path / f"photo.{suffix}"
    save(Image.new("RGB", (300, 200), COLOUR), source, rgb_profile(space))
    for rendition in _renditions(source, out_dir):
        got = rendition.convert("RGB").getpixel((rendition.width // 2, rendition.height // 2))
        assert _close(got, want), (space.name, rendition.size, got, want)  # type: ignore[arg-type]


def test_transparent_p3_png_keeps_alpha(tmp_path: Path, out_dir: Path) -> None:
    im = Image.new("RGBA", (200, 100), (*COLOUR, 255))
    im.paste((0, 0, 0, 0), (100, 0, 200, 100))
    source = tmp_path / "p3-alpha.png"
    im.save(source, "PNG", icc_profile=rgb_profile(DISPLAY_P3))
    want = expected_srgb(DISPLAY_P3, COLOUR)
    for rendition in _renditions(source, out_dir):
        assert rendition.mode == "RGBA"
        w, h = rendition.size
        opaque = rendition.getpixel((w // 4, h // 2))
        assert _close(opaque[:3], want) and opaque[3] == 255, (opaque, want)  # type: ignore[index]
        assert rendition.getpixel((3 * w // 4, h // 2))[3] == 0  # type: ignore[index]


CORNERS = [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (1, 1, 0, 0), (0, 0, 0, 0)]
# A newsprint-like stock: duller inks than the default profile's, so a rendition made with the
# default instead of the embedded profile is caught.
NEWSPRINT = {"C": (60, 130, 175), "M": (190, 60, 120), "Y": (235, 215, 70), "K": (70, 68, 66)}


def _cmyk_strip(corners: list[tuple[int, int, int, int]]) -> Image.Image:
    im = Image.new("CMYK", (100 * len(corners), 100))
    for i, corner in enumerate(corners):
        im.paste(tuple(v * 255 for v in corner), (100 * i, 0, 100 * (i + 1), 100))
    return im


def _check_cmyk(renditions: list[Image.Image], inks: dict[str, tuple[int, int, int]]) -> None:
    for rendition in renditions:
        rgb = rendition.convert("RGB")
        step = rgb.width / len(CORNERS)
        for i, corner in enumerate(CORNERS):
            got = rgb.getpixel((int(step * (i + 0.5)), rgb.height // 2))
            want = expected_cmyk_corner(corner, inks)
            assert _close(got, want), (corner, rgb.size, got, want)  # type: ignore[arg-type]


@pytest.mark.parametrize("save", [_save_jpeg, _save_tiff], ids=["jpeg", "tiff"])
def test_cmyk_with_its_profile(
    tmp_path: Path, out_dir: Path, save: Callable[[Image.Image, Path, bytes | None], None]
) -> None:
    cyan = expected_cmyk_corner((1, 0, 0, 0), NEWSPRINT)
    assert _far(cyan, expected_cmyk_corner((1, 0, 0, 0), DEFAULT_INKS))
    source = tmp_path / "cmyk-profiled.bin"
    save(_cmyk_strip(CORNERS), source, cmyk_profile(NEWSPRINT))
    _check_cmyk(_renditions(source, out_dir), NEWSPRINT)


@pytest.mark.parametrize("save", [_save_jpeg, _save_tiff], ids=["jpeg", "tiff"])
def test_cmyk_without_a_profile_uses_real_inks(
    tmp_path: Path, out_dir: Path, save: Callable[[Image.Image, Path, bytes | None], None]
) -> None:
    """Not Pillow's ideal inks (full cyan as (0, 255, 255)): Salon's default CMYK profile,
    through LittleCMS."""
    naive_cyan = Image.new("CMYK", (1, 1), (255, 0, 0, 0)).convert("RGB").getpixel((0, 0))
    assert _far(expected_cmyk_corner((1, 0, 0, 0), DEFAULT_INKS), naive_cyan)  # type: ignore[arg-type]
    source = tmp_path / "cmyk-bare.bin"
    save(_cmyk_strip(CORNERS), source, None)
    _check_cmyk(_renditions(source, out_dir), DEFAULT_INKS)


def test_photoshop_inverted_cmyk_jpeg(tmp_path: Path, out_dir: Path) -> None:
    """Photoshop writes CMYK JPEGs inverted, flagged by an Adobe APP14 segment (Pillow writes
    one too); the profile applies to the corrected values."""
    source = tmp_path / "adobe.jpg"
    _save_jpeg(_cmyk_strip(CORNERS), source, cmyk_profile(NEWSPRINT))
    assert b"Adobe" in source.read_bytes()[:4096]
    _check_cmyk(_renditions(source, out_dir), NEWSPRINT)


def test_srgb_stays_as_it_is(tmp_path: Path, out_dir: Path) -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / "srgb.png"
    _save_png(Image.new("RGB", (300, 200), COLOUR), source, srgb)
    for rendition in _renditions(source, out_dir):
        assert _close(rendition.convert("RGB").getpixel((150 * rendition.width // 300, 5)), COLOUR)  # type: ignore[arg-type]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def test_profiles_are_what_they_say() -> None:
    """The generated profiles read back as ICC profiles of their space (so the tests above
    exercise real profiles, not ones LittleCMS would reject and Salon ignore)."""
    from PIL import ImageCms

    for space in (ADOBE_RGB, DISPLAY_P3, PROPHOTO):
        profile = ImageCms.ImageCmsProfile(io.BytesIO(rgb_profile(space)))
        assert ImageCms.getProfileDescription(profile).startswith(space.name)
        assert profile.profile.xcolor_space == "RGB "
    cmyk = ImageCms.ImageCmsProfile(io.BytesIO(cmyk_profile(NEWSPRINT)))
    assert cmyk.profile.xcolor_space == "CMYK"


def test_large_photo_is_converted_at_the_largest_rendition_size(
    tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 12 MP phone photo in Display P3: the transform runs on lg (2048x1536, 0.04 s of CPU),
    # not on the 12 MP decode (0.15 s); the colours are the same.
    from PIL import ImageCms

    sizes: list[tuple[int, int]] = []
    real = ImageCms.profileToProfile

    def spy(im: Image.Image, *args: object, **kwargs: object) -> Image.Image | None:
        sizes.append(im.size)
        return real(im, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ImageCms, "profileToProfile", spy)
    want = expected_srgb(DISPLAY_P3, COLOUR)
    source = tmp_path / "phone.jpg"
    _save_jpeg(Image.new("RGB", (4000, 3000), COLOUR), source, rgb_profile(DISPLAY_P3))
    images = _renditions(source, out_dir)
    assert sizes == [(2048, 1536)]
    assert [im.size for im in images] == [(320, 240), (1024, 768), (2048, 1536)]
    for rendition in images:
        got = rendition.convert("RGB").getpixel((rendition.width // 2, rendition.height // 2))
        assert _close(got, want), (rendition.size, got, want)  # type: ignore[arg-type]
