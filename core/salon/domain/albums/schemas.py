"""Album bodies."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec


class AlbumIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class AlbumOut(msgspec.Struct):
    id: str
    name: str
    created_at: dt.datetime
    image_count: int = 0


class AlbumImagesIn(msgspec.Struct, forbid_unknown_fields=True):
    image_ids: list[uuid.UUID]
