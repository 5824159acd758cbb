"""The optional title card, drawn with Pillow as a still image that becomes the first slide.

Why not ffmpeg's ``drawtext``: it needs a font file found through fontconfig, which slim
containers lack. Pillow ships a scalable default font (Pillow >= 10.1 with FreeType), so the
card looks the same everywhere, and the slideshow graph treats it like any other photo.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["render_title_card"]

BACKGROUND = (0, 0, 0)
FOREGROUND = (255, 255, 255)


def render_title_card(title: str, width: int, height: int, path: Path) -> Path:
    """Draw ``title`` centred in white on black at ``width`` x ``height``; save a PNG."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    size = max(12, height // 12)
    font = _font(size)
    # Wrap to about 80 % of the width; a rough character count is enough for a title.
    columns = max(8, int(width * 0.8 / (size * 0.55)))
    lines = textwrap.wrap(" ".join(title.split()), width=columns)[:6] or [""]
    text = "\n".join(lines)
    box = draw.multiline_textbbox((0, 0), text, font=font, align="center", spacing=size // 3)
    x = (width - (box[2] - box[0])) / 2 - box[0]
    y = (height - (box[3] - box[1])) / 2 - box[1]
    draw.multiline_text((x, y), text, font=font, fill=FOREGROUND, align="center", spacing=size // 3)
    image.save(path, format="PNG", optimize=False, compress_level=1)
    return path


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, TypeError, ImportError):
        # Pillow built without FreeType: a small bitmap font still shows the title.
        return ImageFont.load_default()
