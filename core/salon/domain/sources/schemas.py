"""What ``/api/sources`` answers: the sources, their entries, an accepted import."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class SourceOut(msgspec.Struct):
    name: str
    title: str


class EntryOut(msgspec.Struct):
    external_id: str
    title: str
    media_type: str
    importable: bool
    image_url: str | None
    thumbnail_url: str | None
    page_url: str | None
    date: dt.date | None
    metadata: dict[str, Any]
    image_id: str | None = None
    favorite: bool = False


class ImportAccepted(msgspec.Struct):
    job_id: str
