"""``GET /api/photo-log``: the signed-in user's log, read from the plugin's own table."""

from __future__ import annotations

import datetime as dt

import msgspec
from litestar import get
from litestar.di import NamedDependency
from salon import SalonContext, require_user
from salon.providers import SignedInUser

from salon_photo_log import tables
from salon_photo_log.settings import PhotoLogSettings


class PhotoLogEntry(msgspec.Struct):
    image_id: str
    title: str
    width: int
    height: int
    size: int
    logged_at: dt.datetime


class PhotoLogPage(msgspec.Struct):
    entries: list[PhotoLogEntry]


@get("/api/photo-log", operation_id="photo_log_entries", guards=[require_user])
async def photo_log(
    salon: NamedDependency[SalonContext], current_user: NamedDependency[SignedInUser]
) -> PhotoLogPage:
    """The images logged for you, newest first (``SALON_PHOTO_LOG_PAGE_SIZE`` at most)."""
    limit = salon.settings_as(PhotoLogSettings).page_size
    rows = await tables.newest(salon, str(current_user.id), limit)
    return PhotoLogPage(entries=[msgspec.convert(row, PhotoLogEntry) for row in rows])
