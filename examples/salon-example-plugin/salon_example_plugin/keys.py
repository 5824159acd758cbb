"""Storage keys: which are safe, and how a key becomes a file name.

The core chooses keys (``originals/<user>/<image>.jpg`` and the like), but a backend still
refuses anything that could escape its folder, with ``ValueError``, as the contract requires.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final
from urllib.parse import quote, unquote

__all__ = ["MAX_ENCODED", "decode_name", "encode_name", "shard_of", "validate_key"]

# S3's "safe characters" plus "/" as separator: the same rule as the core's own backends.
_SEGMENT_RE: Final = re.compile(r"^[A-Za-z0-9!_.*'()=+,@~-]+$")
# A file name holds at most 255 bytes on common file systems; keep room for a temp prefix.
MAX_ENCODED: Final = 240


def validate_key(key: str, *, prefix: bool = False) -> str:
    """Return ``key`` when it is a safe relative ``/``-separated ASCII path, else raise
    ValueError. ``prefix=True`` also allows ``""`` and a trailing ``/`` (for ``list``)."""
    if not isinstance(key, str):
        raise ValueError("storage key must be a string")
    if prefix and key == "":
        return key
    if not key:
        raise ValueError("storage key must not be empty")
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
    if not prefix and len(encode_name(key)) > MAX_ENCODED:
        raise ValueError(f"storage key {key[:40]!r}... is too long for the sharded backend")
    return key


def encode_name(key: str) -> str:
    """The flat file name of ``key``: ``/`` (and ``%``) percent-encoded, so names never nest."""
    return quote(key, safe="!_.*'()=+,@~-")


def decode_name(name: str) -> str:
    return unquote(name)


def shard_of(key: str, width: int) -> str:
    """The shard folder of ``key``: the first ``width`` hex digits of its SHA-256, so objects
    spread evenly whatever their names (one huge folder is slow on many file systems)."""
    return hashlib.sha256(key.encode()).hexdigest()[:width]
