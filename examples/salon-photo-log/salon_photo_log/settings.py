"""``SALON_PHOTO_LOG_*``: the plugin's settings, read once at start-up by the core."""

from __future__ import annotations

import msgspec


class PhotoLogSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = False
    """``SALON_PHOTO_LOG_ENABLED``: log stored images. Off by default: a plugin that adds a
    job to every upload should change nothing until the operator asks for it."""

    page_size: int = 100
    """``SALON_PHOTO_LOG_PAGE_SIZE``: how many entries ``GET /api/photo-log`` answers."""

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 1000:
            raise ValueError("page_size must be between 1 and 1000")
