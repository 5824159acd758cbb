"""The example passes the stacked-processor contract suite, and its hash finds look-alikes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from salon.providers import StackedMediaProcessor
from salon.testing import StackedMediaProcessorContract
from salon_avif_phash import AvifPhash, AvifPhashSettings, hamming, phash


class TestAvifPhashContract(StackedMediaProcessorContract):
    @pytest.fixture
    def stacked_processor(self) -> StackedMediaProcessor:
        return AvifPhash()


class TestSmallAvifContract(StackedMediaProcessorContract):
    """An AVIF smaller than the base's largest rendition is made by shrinking that one."""

    @pytest.fixture
    def stacked_processor(self) -> StackedMediaProcessor:
        return AvifPhash(AvifPhashSettings(rendition="avif-sm", long_edge=100, quality=50))


def _photo(seed: int) -> Image.Image:
    """A picture with structure (a dHash of flat colour is all zeros)."""
    im = Image.effect_mandelbrot((480, 360), (-2.0 + seed * 0.4, -1.2, 1.0, 1.2), 60)
    return Image.merge("RGB", (im, im.rotate(180), im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def _recompressed(im: Image.Image, quality: int, scale: float) -> Image.Image:
    buffer = io.BytesIO()
    im.resize((int(im.width * scale), int(im.height * scale))).save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_phash_survives_rescaling_and_recompression() -> None:
    original = _photo(0)
    again = _recompressed(original, quality=40, scale=0.5)
    assert hamming(phash(original), phash(again)) <= 6
    assert hamming(phash(original), phash(_photo(3))) >= 16, "different pictures differ"
    assert len(phash(original)) == 16 and int(phash(original), 16) > 0


def test_phash_of_transparency_is_of_what_a_viewer_shows(tmp_path: Path) -> None:
    clear = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    white = Image.new("RGB", (64, 48), (255, 255, 255))
    assert phash(clear) == phash(white)


def test_bad_settings_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="speed"):
        AvifPhashSettings(speed=11)
    with pytest.raises(ValueError, match="rendition name"):
        AvifPhashSettings(rendition="AVIF!")
