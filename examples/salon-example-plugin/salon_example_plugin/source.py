"""The ``swatches`` image source: colour swatches, made on demand.

It stands in for a real upstream (an API, a folder, a camera) without needing one: ``entries``
names swatches, ``download`` renders one as a PNG. Query: ``count`` (1 to
``SALON_EXAMPLE_MAX_SWATCHES``, default 3) and ``seed`` (any word; the same seed gives the same
swatches). The query is validated before anything is rendered: a bad one is a
``SourceQueryError`` (HTTP 400) and costs nothing.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Final

from anyio import to_thread
from salon.errors import SourceError, SourceQueryError
from salon.providers import ProviderContext, SourceEntry

from salon_example_plugin.settings import ExampleSettings

__all__ = ["SwatchSource"]

SCHEME: Final = "swatch:"
_CHUNK: Final = 16 * 1024
_ALLOWED_KEYS: Final = frozenset({"count", "seed"})


class SwatchSource:
    """A :class:`salon.providers.ImageSource` named ``swatches``."""

    name = "swatches"
    title = "Swatches"

    def __init__(self, *, max_swatches: int = 50, size: int = 256) -> None:
        self.max_swatches = max_swatches
        self.size = size
        self.renders = 0  # the "upstream calls" the contract's counter hook reads

    @classmethod
    def from_context(cls, context: ProviderContext) -> SwatchSource:
        settings = context.settings_as(ExampleSettings)
        return cls(max_swatches=settings.max_swatches)

    async def entries(self, query: Mapping[str, str]) -> Sequence[SourceEntry]:
        count, seed = self._parse(query)
        entries = []
        for index in range(count):
            colour = _colour(f"{seed}/{index}")
            entries.append(
                SourceEntry(
                    external_id=f"{seed}-{index}",
                    title=f"Swatch #{colour}",
                    media_type="image",
                    image_url=f"{SCHEME}{colour}",
                    metadata={"colour": colour, "seed": seed},
                )
            )
        return entries

    def _parse(self, query: Mapping[str, str]) -> tuple[int, str]:
        unknown = set(query) - _ALLOWED_KEYS
        if unknown:
            raise SourceQueryError(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
        try:
            count = int(query.get("count", "3"))
        except ValueError:
            raise SourceQueryError("count must be a whole number") from None
        if not 1 <= count <= self.max_swatches:
            raise SourceQueryError(f"count must be between 1 and {self.max_swatches}")
        seed = query.get("seed", "salon")
        if not seed.isalnum() or len(seed) > 40:
            raise SourceQueryError("seed must be 1-40 letters or digits")
        return count, seed

    async def download(self, entry: SourceEntry) -> AsyncIterator[bytes]:
        """Render the swatch and stream it in chunks, as a real HTTP download would arrive."""
        url = entry.image_url
        if url is None:
            raise SourceError(f"swatch {entry.external_id} has no image to download")
        colour = url.removeprefix(SCHEME)
        if not url.startswith(SCHEME) or len(colour) != 6:
            raise SourceError(f"not a swatch URL: {url[:60]!r}")
        try:
            rgb = bytes.fromhex(colour)
        except ValueError:
            raise SourceError(f"not a swatch colour: {colour!r}") from None
        # Rendering is CPU work: keep it off the event loop.
        data = await to_thread.run_sync(_render, tuple(rgb), self.size)
        self.renders += 1
        for start in range(0, len(data), _CHUNK):
            yield data[start : start + _CHUNK]


def _colour(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def _render(rgb: tuple[int, ...], size: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (rgb[0], rgb[1], rgb[2]))
    # A diagonal stripe makes every swatch a little less trivial to compress.
    ImageDraw.Draw(image).line((0, 0, size, size), fill=(255, 255, 255), width=size // 16)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
