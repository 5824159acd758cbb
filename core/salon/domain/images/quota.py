"""Per-user storage quota (``SALON_STORAGE_QUOTA_BYTES``; 0 means unlimited).

What counts is the byte size of a user's originals plus the sizes announced by their direct
uploads still in flight; renditions are derived data and not counted. The check is made when
an upload is announced (so a client learns before sending the bytes) and again when an image
is stored, by every path (API, direct upload, imports). Two uploads racing past the check
together may overshoot by one file: the quota is a guard against exhaustion, not an invoice.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Image, UploadIntent
from salon.errors import QuotaExceeded

__all__ = ["QuotaExceeded", "check_quota", "used_bytes"]


async def used_bytes(
    session: AsyncSession, owner_id: uuid.UUID, *, exclude_intent: uuid.UUID | None = None
) -> int:
    """The user's originals plus their pending, unexpired direct uploads."""
    images = await session.scalar(
        select(func.coalesce(func.sum(Image.size), 0)).where(Image.owner_id == owner_id)
    )
    pending = select(func.coalesce(func.sum(UploadIntent.size), 0)).where(
        UploadIntent.owner_id == owner_id,
        UploadIntent.status.in_(("pending", "processing")),
        UploadIntent.expires_at > dt.datetime.now(dt.UTC),
    )
    if exclude_intent is not None:
        pending = pending.where(UploadIntent.id != exclude_intent)
    return int(images or 0) + int(await session.scalar(pending) or 0)


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
    used = await used_bytes(session, owner_id, exclude_intent=exclude_intent)
    if used + size > quota:
        raise QuotaExceeded(
            f"storage quota exceeded: {used} of {quota} bytes are used and this file has "
            f"{size}; delete some photos first"
        )
