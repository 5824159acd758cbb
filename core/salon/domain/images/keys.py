"""Storage keys. Keys are built from ids and hashes only, never from user-supplied names, so
they are always safe ASCII paths on every backend."""

from __future__ import annotations

import uuid


def original_key(owner_id: uuid.UUID, sha256: str) -> str:
    return f"originals/{owner_id}/{sha256[:2]}/{sha256}"


def rendition_key(owner_id: uuid.UUID, sha256: str, name: str, extension: str) -> str:
    return f"renditions/{owner_id}/{sha256[:2]}/{sha256}/{name}.{extension}"


def upload_key(owner_id: uuid.UUID, intent_id: uuid.UUID) -> str:
    return f"uploads/{owner_id}/{intent_id}"


def staging_key(owner_id: uuid.UUID, intent_id: uuid.UUID) -> str:
    """Where a direct upload is copied before it is checked: a key no browser form can
    write, so the bytes checked are the bytes kept."""
    return f"staging/{owner_id}/{intent_id}"
