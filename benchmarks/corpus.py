"""A deterministic corpus of synthetic camera photos, shared by the benchmarks.

Each image is a 12 MP (4000 x 3000) JPEG at quality 90 that looks, to a codec, like a photo:
smooth colour fields, mid-frequency texture, hard-edged shapes and sensor grain, so decode,
resample and WebP/JPEG encode costs are close to those of real photos (flat or pure-noise images
would make encoders look much faster or much slower). Each carries EXIF the way a phone writes
it: Make, Model, Orientation (1, 6, 8, 3 in turn, so rotations are exercised), DateTimeOriginal
with OffsetTimeOriginal, and GPS.

Only Pillow and the standard library: pixels come from ``random.Random(seed)``, so image *i* is
the same on every machine with the same Pillow/libjpeg (``CORPUS_VERSION`` changes whenever the
recipe does). Images are cached in a folder and made only when missing.

    python benchmarks/corpus.py --count 8 [--out DIR] [--size 4000x3000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

CORPUS_VERSION = 1
DEFAULT_SIZE = (4000, 3000)
DEFAULT_QUALITY = 90
ORIENTATIONS = (1, 6, 8, 3)


def default_dir(size: tuple[int, int] = DEFAULT_SIZE, quality: int = DEFAULT_QUALITY) -> Path:
    """Where the corpus is cached: outside the repository, one folder per recipe."""
    name = f"salon-bench-corpus-v{CORPUS_VERSION}-{size[0]}x{size[1]}-q{quality}"
    return Path(tempfile.gettempdir()) / name


def _noise(rng: random.Random, size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    bands = len(mode)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * bands))


def make_photo(index: int, size: tuple[int, int] = DEFAULT_SIZE) -> Image.Image:
    """The pixels of corpus image ``index`` (deterministic)."""
    rng = random.Random(f"salon-corpus-{CORPUS_VERSION}-{index}")
    w, h = size
    # 1. smooth colour fields: a tiny random image blown up (sky, walls, out-of-focus areas)
    img = _noise(rng, (max(2, w // 500), max(2, h // 500))).resize(size, Image.Resampling.BICUBIC)
    # 2. mid-frequency texture (foliage, fabric): a coarser noise, blurred and blended in
    texture = _noise(rng, (w // 8, h // 8)).resize(size, Image.Resampling.BILINEAR)
    img = Image.blend(img, texture, 0.22)
    # 3. hard edges: shapes and lines, softened a little as a lens would
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = x0 + rng.randrange(40, w // 3), y0 + rng.randrange(40, h // 3)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    for _ in range(60):
        pts = [(rng.randrange(w), rng.randrange(h)) for _ in range(2)]
        draw.line(pts, fill=(rng.randrange(256),) * 3, width=rng.randrange(2, 12))
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    # 4. sensor grain: low-amplitude full-resolution noise around zero
    grain = _noise(rng, size).point(lambda v: v // 16)  # 0..15
    img = ImageChops.subtract(ImageChops.add(img, grain), Image.new("RGB", size, (8, 8, 8)))
    return img


def exif_for(index: int) -> Image.Exif:
    """Phone-like EXIF for image ``index`` (orientation cycles through ORIENTATIONS)."""
    exif = Image.Exif()
    exif[0x010F] = "SalonBench"
    exif[0x0110] = "Synthetic 12MP"
    exif[0x0112] = ORIENTATIONS[index % len(ORIENTATIONS)]
    minute, second = divmod(index * 7, 60)
    exif[0x8769] = {
        0x9003: f"2024:06:{1 + index % 28:02d} 10:{minute % 60:02d}:{second:02d}",
        0x9011: "+02:00",
    }
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0 + index), 3: "E", 4: (2.0, 21.0, 7.0)}
    return exif


def ensure_corpus(
    count: int,
    directory: Path | None = None,
    *,
    size: tuple[int, int] = DEFAULT_SIZE,
    quality: int = DEFAULT_QUALITY,
    log: bool = True,
) -> list[Path]:
    """Paths of the first ``count`` corpus images, making the missing ones."""
    folder = directory or default_dir(size, quality)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"photo-{i:03d}.jpg"
        if not path.exists():
            if log:
                print(f"corpus: making {path}", file=sys.stderr)
            tmp = path.with_suffix(".tmp")
            make_photo(i, size).save(
                tmp, "JPEG", quality=quality, exif=exif_for(i).tobytes(), subsampling="4:2:0"
            )
            tmp.replace(path)  # atomic: an interrupted run never leaves half an image
        paths.append(path)
    return paths


def _parse_size(text: str) -> tuple[int, int]:
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--size", type=_parse_size, default=DEFAULT_SIZE)
    parser.add_argument("--quality", type=int, default=DEFAULT_QUALITY)
    args = parser.parse_args(argv)
    for path in ensure_corpus(args.count, args.out, size=args.size, quality=args.quality):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
