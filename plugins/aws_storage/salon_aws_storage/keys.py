"""Storage key rules: Salon's own (``salon.providers.validate_key``), so keys are portable."""

from __future__ import annotations

from salon.providers import validate_key

__all__ = ["validate_key"]
