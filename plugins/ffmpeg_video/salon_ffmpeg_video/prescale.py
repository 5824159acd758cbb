"""Reducing each photo to the video's size before ffmpeg sees it.

Why: ffmpeg decodes the first frame of *every* input before it can configure the filter graph,
and holds those frames until their slide comes. With full-size inputs that is the whole
decoded photo each (200 x 2048 px renditions measured 1.3 GB of RSS; 12 MP originals would be
~18 MB apiece). Reduced to fit the output box, each held frame is at most one output frame.
Pillow's JPEG draft mode decodes at 1/2, 1/4 or 1/8 scale (DCT scaling), which is cheaper than
ffmpeg's full-size decode, and ``exif_transpose`` puts camera originals upright, which ffmpeg's
image decoders do not.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["fit_within"]

ORIENTATION = 0x0112


def fit_within(source: Path, target: Path, width: int, height: int) -> Path:
    """The file ffmpeg should read for ``source``: ``source`` itself when it already fits the
    box, is upright and is not animated, else an upright JPEG (q95) of its first frame, at most
    ``width`` x ``height``, at ``target``.
    Anything Pillow cannot read is passed through unchanged, for ffmpeg to try (and to report
    its own error)."""
    try:
        with Image.open(source) as image:
            orientation = image.getexif().get(ORIENTATION, 1)
            # An animated rendition (a GIF's moving WebP) is a still of its first frame here:
            # ffmpeg 5's WebP decoder reads no animated WebP at all.
            animated = bool(getattr(image, "is_animated", False))
            fits = image.width <= width and image.height <= height
            if fits and orientation == 1 and not animated:
                return source
            # Ask the JPEG decoder for just the size the fitted photo needs (DCT scaling picks
            # the smallest 1/2, 1/4 or 1/8 that still covers it), in stored orientation.
            stored_w, stored_h = image.size
            upright_w, upright_h = (
                (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
            )
            scale = min(width / upright_w, height / upright_h, 1.0)
            image.draft("RGB", (math.ceil(stored_w * scale), math.ceil(stored_h * scale)))
            upright = ImageOps.exif_transpose(image).convert("RGB")
        upright.thumbnail((width, height), Image.Resampling.LANCZOS, reducing_gap=2.0)
        upright.save(target, format="JPEG", quality=95)
        return target
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return source
