"""Keyset cursors: an opaque token holding the last row's sort key and id.

A listing in upload order keys on ``created_at``; the timeline (``order=taken``) keys on the
date taken, or uploaded when unknown, and says so in its cursors, so a cursor is refused by
the listing of the other order instead of silently skipping or repeating rows."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid

UPLOADED = "uploaded"
TAKEN = "taken"
ORDERS = (UPLOADED, TAKEN)


# Cursors made here are under 120 characters; a longer one is refused unread (a deeply
# nested JSON array in one would reach json's recursion limit).
MAX_CURSOR_LENGTH = 256


class CursorError(ValueError):
    """A cursor the server did not make."""


def encode_cursor(when: dt.datetime, image_id: uuid.UUID, order: str = UPLOADED) -> str:
    parts = [when.isoformat(), str(image_id)]
    if order != UPLOADED:  # upload-order cursors stay as they were (clients may hold some)
        parts.append(order)
    raw = json.dumps(parts, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, order: str = UPLOADED) -> tuple[dt.datetime, uuid.UUID]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise CursorError("malformed cursor")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, ident, *rest = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        moment = dt.datetime.fromisoformat(when)
        if moment.tzinfo is None:
            raise ValueError("naive datetime")
        if (rest[0] if rest else UPLOADED) != order or len(rest) > 1:
            raise ValueError("a cursor of another order")
        return moment, uuid.UUID(ident)
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError) as exc:
        raise CursorError("malformed cursor") from exc


def month_cursor(year: int, month: int) -> str:
    """The timeline cursor whose page starts with the newest photo of ``year-month`` (UTC):
    a cursor means "before this key", so it holds the first moment of the next month with
    the smallest id."""
    following = dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)
    return encode_cursor(following, uuid.UUID(int=0), TAKEN)
