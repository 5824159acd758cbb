"""A media processor that never finishes, for the crash-repair test (no tests of its own).

Loaded in worker subprocesses with ``python -m salon.worker --plugin slow_media_plugin`` (this
folder on PYTHONPATH) and selected with ``SALON_MEDIA=stuck``. It probes like Pillow, but its
``process`` writes ``<data dir>/stuck-started`` and then sleeps, so the test knows a worker is
between the original and the renditions when it kills it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from salon import hookimpl
from salon.defaults.pillow_media import PillowMediaProcessor
from salon.providers import MediaInfo, ProcessedMedia, ProviderContext, RenditionSpec

MARKER = "stuck-started"


class StuckMediaProcessor:
    def __init__(self, data_dir: Path) -> None:
        self.marker = data_dir / MARKER
        self.pillow = PillowMediaProcessor()
        self.content_types = self.pillow.content_types

    def probe(self, source: Path) -> MediaInfo:
        return self.pillow.probe(source)

    def process(
        self, source: Path, out_dir: Path, specs: Sequence[RenditionSpec]
    ) -> ProcessedMedia:
        self.marker.write_text(source.name)
        time.sleep(3600)
        raise AssertionError("the test kills this process long before")


@hookimpl
def register_media_processors(register: Any) -> None:
    register("stuck", lambda ctx: StuckMediaProcessor(Path(ctx.data_dir)))


def _unused(ctx: ProviderContext) -> None:  # pragma: no cover - keeps the import meaningful
    del ctx
