"""Album bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec


class AlbumIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class AlbumPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Rename, and/or choose the cover (a photo of the album; null: its newest photo)."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    cover_image_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET


class AlbumOut(msgspec.Struct):
    id: str
    name: str
    created_at: dt.datetime
    image_count: int = 0
    # The photo shown for the album: the one the owner chose, else its newest (None: empty).
    cover_id: str | None = None
    # Albums shared with the caller: whose they are.
    owner_email: str | None = None


class MemberIn(msgspec.Struct, forbid_unknown_fields=True):
    """Share an album, read-only, with the user of this Salon who signs in with ``email``."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]


class MemberOut(msgspec.Struct):
    user_id: str
    email: str | None
    added_at: dt.datetime


class AlbumImagesIn(msgspec.Struct, forbid_unknown_fields=True):
    image_ids: list[uuid.UUID]
