"""The stacked processor: an AVIF rendition and a perceptual hash, from the base's renditions.

The base processor has already refused unsafe uploads and written upright, sRGB renditions
without metadata, so this one reads those instead of the upload: no second decode of a
12 MP JPEG, no EXIF handling, no decompression-bomb checks of its own.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import msgspec
from PIL import Image
from salon.providers import (
    MediaAdditions,
    ProcessedMedia,
    ProviderContext,
    RenditionFile,
    RenditionSpec,
)

HASH_SIZE = 8
"""dHash on a (HASH_SIZE + 1) x HASH_SIZE grey thumbnail: 64 bits."""


class AvifPhashSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``SALON_AVIF_PHASH_RENDITION``, ``_LONG_EDGE``, ``_QUALITY``, ``_SPEED``."""

    rendition: str = "avif"
    """The rendition's name: ``/api/images/{id}/renditions/avif``."""
    long_edge: int = 2048
    quality: int = 60
    """AVIF quality 60 looks about like WebP 80, in fewer bytes."""
    speed: int = 8
    """libavif's speed, 0 (slowest, smallest) to 10: 8 encodes 2048 px in about 0.3 s."""

    def __post_init__(self) -> None:
        RenditionSpec(self.rendition, self.long_edge, "AVIF", self.quality).check()
        if not 0 <= self.speed <= 10:
            raise ValueError("speed must be 0-10")


class AvifPhash:
    """A :class:`salon.providers.StackedMediaProcessor`. Picklable and stateless, so the core
    runs it in its media worker processes, after the base, as it runs the base."""

    def __init__(self, settings: AvifPhashSettings | None = None) -> None:
        settings = settings or AvifPhashSettings()
        spec = RenditionSpec(settings.rendition, settings.long_edge, "AVIF", settings.quality)
        self.renditions: tuple[RenditionSpec, ...] = (spec,)
        self.speed = settings.speed

    @classmethod
    def from_context(cls, context: ProviderContext) -> AvifPhash:
        settings = context.settings
        return cls(settings if isinstance(settings, AvifPhashSettings) else None)

    def add(self, previous: ProcessedMedia, source: Path, out_dir: Path) -> MediaAdditions:
        by_size = sorted(previous.renditions, key=lambda r: max(r.width, r.height))
        if not by_size:  # a base that made no renditions: nothing to start from
            return MediaAdditions()
        spec = self.renditions[0]
        # The smallest rendition that covers the AVIF's size (else the largest there is).
        start = next((r for r in by_size if max(r.width, r.height) >= spec.long_edge), by_size[-1])
        avif = self._avif(Path(start.path), spec, out_dir)
        with Image.open(by_size[0].path) as smallest:
            return MediaAdditions(renditions=[avif], metadata={"phash": phash(smallest)})

    def _avif(self, start: Path, spec: RenditionSpec, out_dir: Path) -> RenditionFile:
        path = out_dir / f"{spec.name}.avif"
        with Image.open(start) as opened:
            im: Image.Image = opened.convert("RGBA" if _has_alpha(opened) else "RGB")
        if max(im.size) > spec.long_edge:
            im = im.resize(_fit(im.size, spec.long_edge), Image.Resampling.LANCZOS)
        im.save(path, "AVIF", quality=spec.quality, speed=self.speed)
        return RenditionFile(
            name=spec.name,
            path=path,
            width=im.width,
            height=im.height,
            content_type="image/avif",
            size=path.stat().st_size,
        )


def phash(im: Image.Image) -> str:
    """A difference hash (dHash): 64 bits, as 16 hex digits. Each bit says whether a pixel of
    a 9x8 grey thumbnail is darker than its right neighbour, so it survives rescaling,
    recompression and small colour changes: images whose hashes differ in at most about 10
    bits (see :func:`hamming`) look alike."""
    if _has_alpha(im):  # transparent pixels count as white, as a viewer shows them
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im.convert("RGBA"))
    grey = im.convert("L").resize((HASH_SIZE + 1, HASH_SIZE), Image.Resampling.LANCZOS)
    pixels = grey.tobytes()
    bits = 0
    for row in range(HASH_SIZE):
        line = pixels[row * (HASH_SIZE + 1) : (row + 1) * (HASH_SIZE + 1)]
        for left, right in itertools.pairwise(line):
            bits = (bits << 1) | (left < right)
    return f"{bits:0{HASH_SIZE * HASH_SIZE // 4}x}"


def hamming(a: str, b: str) -> int:
    """How many bits two :func:`phash` values differ in (0: same picture, about 32: unrelated)."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info


def _fit(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    width, height = size
    if width >= height:
        return long_edge, max(1, round(height * long_edge / width))
    return max(1, round(width * long_edge / height)), long_edge
