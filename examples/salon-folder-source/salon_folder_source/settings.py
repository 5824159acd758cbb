"""The plugin's settings, read by the core from ``SALON_FOLDER_SOURCE_*`` (or
``[folder_source]`` in salon.toml) and validated at start-up."""

from __future__ import annotations

import msgspec

__all__ = ["FolderSourceSettings"]


class FolderSourceSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``SALON_FOLDER_SOURCE_ROOT`` and ``SALON_FOLDER_SOURCE_PAGE_SIZE``."""

    root: str = ""
    """The folder offered; empty: ``<SALON_DATA_DIR>/folder-source`` (made at start-up)."""

    page_size: int = 24
    """Entries per page, and the most a ``per_page`` query may ask for (1 to 200)."""

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 200:
            raise ValueError("page_size must be between 1 and 200")
