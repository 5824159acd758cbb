"""Per-user storage quota (``SALON_STORAGE_QUOTA_BYTES``, 10 GiB by default; 0 means
unlimited) and the cap on open direct uploads (``SALON_MAX_OPEN_UPLOADS_PER_USER``).

What counts is the byte size of a user's originals and finished videos plus the sizes announced
by their direct uploads still in flight; renditions are derived data and not counted. A new
video is refused while the account is at or over its quota (its size is known only once made).
The check is made when an upload is announced (so a client learns before sending the bytes) and
again when an image is stored, by every path (API, direct upload, imports): the first count
refuses early, before the bytes are stored; the second is made with the row's insert in the
owner's storage turn (``salon.domain.admission``), so parallel uploads of one account cannot
all pass it (per process: N web processes may overshoot by N - 1 files).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Image, UploadIntent, Video
from salon.errors import QuotaExceeded, TooManyRequests

__all__ = [
    "OPEN_UPLOAD_STATES",
    "STORAGE_TURN",
    "QuotaExceeded",
    "TooManyRequests",
    "check_open_uploads",
    "check_quota",
    "check_usage",
    "used_bytes",
]

# The storage turn (``salon.domain.admission``) of an owner: the quota's count and the row it
# admits (an image, a direct upload) happen in it, so parallel requests cannot all pass.
STORAGE_TURN = "storage"

# The states of a direct upload that still holds a place in its owner's quota.
OPEN_UPLOAD_STATES = ("pending", "processing")


def _open_intents(owner_id: uuid.UUID) -> tuple[ColumnElement[bool], ...]:
    """The owner's direct uploads announced and not finished (pending or being completed) and
    not yet expired: what still holds a place in their quota."""
    return (
        UploadIntent.owner_id == owner_id,
        UploadIntent.status.in_(OPEN_UPLOAD_STATES),
        UploadIntent.expires_at > dt.datetime.now(dt.UTC),
    )


async def check_open_uploads(session: AsyncSession, owner_id: uuid.UUID, limit: int) -> None:
    """Raise :class:`TooManyRequests` when the owner already has ``limit`` open direct uploads:
    each is cheap to announce, so without a cap one account could hold any number (issue 17).
    Retry-After is when the oldest of them expires (finishing one frees a place sooner)."""
    count, first_expiry = (
        await session.execute(
            select(func.count(), func.min(UploadIntent.expires_at)).where(*_open_intents(owner_id))
        )
    ).one()
    if int(count or 0) < limit:
        return
    wait = 60
    if first_expiry is not None:
        if first_expiry.tzinfo is None:  # SQLite gives naive UTC
            first_expiry = first_expiry.replace(tzinfo=dt.UTC)
        wait = int((first_expiry - dt.datetime.now(dt.UTC)).total_seconds()) + 1
    raise TooManyRequests(
        f"you have {count} uploads announced and not finished (the limit is {limit}): "
        "send and complete those first, or wait until they expire",
        retry_after=wait,
    )


async def used_bytes(
    session: AsyncSession, owner_id: uuid.UUID, *, exclude_intent: uuid.UUID | None = None
) -> int:
    """The user's originals and videos plus their pending, unexpired direct uploads."""
    images = await session.scalar(
        select(func.coalesce(func.sum(Image.size), 0)).where(Image.owner_id == owner_id)
    )
    videos = await session.scalar(
        select(func.coalesce(func.sum(Video.size), 0)).where(Video.owner_id == owner_id)
    )
    pending = select(func.coalesce(func.sum(UploadIntent.size), 0)).where(*_open_intents(owner_id))
    if exclude_intent is not None:
        pending = pending.where(UploadIntent.id != exclude_intent)
    return int(images or 0) + int(videos or 0) + int(await session.scalar(pending) or 0)


async def check_quota(
    session: AsyncSession,
    owner_id: uuid.UUID,
    size: int,
    quota: int,
    *,
    exclude_intent: uuid.UUID | None = None,
) -> None:
    """Raise :class:`QuotaExceeded` when ``size`` more bytes would exceed ``quota`` (0: none)."""
    if quota <= 0:
        return
    check_usage(await used_bytes(session, owner_id, exclude_intent=exclude_intent), size, quota)


def check_usage(used: int, size: int, quota: int) -> None:
    """Raise :class:`QuotaExceeded` when ``size`` more bytes on top of ``used`` would exceed
    ``quota`` (0: none)."""
    if 0 < quota < used + size:
        raise QuotaExceeded(
            f"storage quota exceeded: {used} of {quota} bytes are used and this file has "
            f"{size}; delete some photos first"
        )
