"""Test plugin for test_media_stacking.py (no tests of its own), written against the public
API only: a media processor as docs/plugins.md documented it before stacking existed
(``content_types`` and ``process``, no ``probe``), and a stacked processor on top of it.

Imported by the test with this folder on ``sys.path``; the media pool's worker processes
(spawned) import it by the same name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, ImageStat
from salon import hookimpl
from salon.errors import UnsupportedMedia
from salon.providers import (
    MediaAdditions,
    MediaInfo,
    ProcessedMedia,
    RenditionFile,
    RenditionSpec,
)

BROKEN = "mono-broken"
"""While this file exists in the data folder, ``mono`` fails (in any process)."""


class LegacyProcessor:
    """Pillow used plainly: thumbnail per spec, no metadata kept."""

    content_types = frozenset({"image/jpeg", "image/png"})

    def process(
        self, source: Path, out_dir: Path, specs: Sequence[RenditionSpec]
    ) -> ProcessedMedia:
        try:
            with Image.open(source) as opened:
                fmt = opened.format or ""
                upright = ImageOps.exif_transpose(opened).convert("RGB")
        except OSError:
            raise UnsupportedMedia("not an image", "not_an_image") from None
        files = []
        for spec in specs:
            im = upright.copy()
            im.thumbnail((spec.long_edge, spec.long_edge))
            path = out_dir / f"{spec.name}.{spec.format.lower()}"
            im.save(path, spec.format, quality=spec.quality)
            content_type = Image.MIME[spec.format]
            files.append(
                RenditionFile(
                    spec.name, path, im.width, im.height, content_type, path.stat().st_size
                )
            )
        info = MediaInfo(Image.MIME[fmt], upright.width, upright.height, metadata={"format": fmt})
        return ProcessedMedia(info=info, renditions=files, placeholder=None)


class Mono:
    """Stacked: a grey PNG rendition ``mono`` and the mean grey level as ``mono_mean``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.renditions = (RenditionSpec("mono", 256, "PNG"),)

    def add(self, previous: ProcessedMedia, source: Path, out_dir: Path) -> MediaAdditions:
        if (self.data_dir / BROKEN).exists():
            raise RuntimeError("mono is broken today")
        smallest = min(previous.renditions, key=lambda r: r.width * r.height)
        with Image.open(smallest.path) as opened:
            grey = opened.convert("L")
        grey.thumbnail((256, 256))
        path = out_dir / "mono.png"
        grey.save(path, "PNG")
        rendition = RenditionFile(
            "mono", path, grey.width, grey.height, "image/png", path.stat().st_size
        )
        mean = round(ImageStat.Stat(grey).mean[0])
        return MediaAdditions(renditions=[rendition], metadata={"mono_mean": mean})


@hookimpl
def register_media_processors(register: Any) -> None:
    register("legacy", lambda context: LegacyProcessor())
    register("mono", lambda context: Mono(Path(context.data_dir)))
