"""Keyset cursors: an opaque token holding the last row's (created_at, id)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid


class CursorError(ValueError):
    """A cursor the server did not make."""


def encode_cursor(created_at: dt.datetime, image_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(image_id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, ident = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        created_at = dt.datetime.fromisoformat(created)
        if created_at.tzinfo is None:
            raise ValueError("naive datetime")
        return created_at, uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error, UnicodeError, json.JSONDecodeError) as exc:
        raise CursorError("malformed cursor") from exc
