"""The plugin's settings, read by the core from ``SALON_EXAMPLE_*`` (or ``[example]`` in
salon.toml) and validated at start-up: a bad value or an unknown ``SALON_EXAMPLE_*`` name stops
``salon serve`` with a message naming it."""

from __future__ import annotations

import msgspec

__all__ = ["ExampleSettings"]


class ExampleSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``SALON_EXAMPLE_ROOT``, ``SALON_EXAMPLE_SHARD_WIDTH``, ``SALON_EXAMPLE_MAX_SWATCHES``."""

    root: str = ""
    """Folder of the ``sharded`` backend; empty: ``<SALON_DATA_DIR>/sharded``."""

    shard_width: int = 2
    """Hex digits of the key's hash that name its shard folder (1-4: 16 to 65536 folders)."""

    max_swatches: int = 50
    """The most entries one ``swatches`` query may ask for."""

    def __post_init__(self) -> None:
        if not 1 <= self.shard_width <= 4:
            raise ValueError("shard_width must be between 1 and 4")
        if self.max_swatches < 1:
            raise ValueError("max_swatches must be positive")
