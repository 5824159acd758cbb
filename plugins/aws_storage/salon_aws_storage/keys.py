"""Storage key rules (the same as Salon's local storage, so keys are portable)."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["validate_key"]

_MAX_KEY_LENGTH: Final = 1024
# S3's "safe characters" (plus "/" as separator): keys are chosen by the core, never by users.
_SEGMENT_RE: Final = re.compile(r"^[A-Za-z0-9!_.*'()=+,@~-]+$")


def validate_key(key: str, *, prefix: bool = False) -> str:
    """Return ``key`` if it is a safe relative ``/``-separated ASCII key, else raise ValueError.

    The same rules as the built-in local storage, so keys are portable between backends.
    """
    if not isinstance(key, str):
        raise ValueError("storage key must be a string")
    if prefix and key == "":
        return key
    if not key or len(key) > _MAX_KEY_LENGTH:
        raise ValueError(f"storage key must be 1-{_MAX_KEY_LENGTH} characters")
    if key.startswith("/") or "\\" in key:
        raise ValueError(f"storage key {key!r} must be relative and use '/' separators")
    segments = key.split("/")
    if prefix and segments[-1] == "":
        segments = segments[:-1]
    for segment in segments:
        if segment in ("", ".", "..") or segment.startswith("."):
            raise ValueError(f"storage key {key!r} has an empty, dot or hidden segment")
        if not _SEGMENT_RE.match(segment):
            raise ValueError(f"storage key {key!r} has characters outside the safe ASCII set")
    return key
