"""Completing direct uploads from storage events (S3 ``ObjectCreated`` on the upload prefix),
so an object uploaded straight to the bucket becomes an image even when the browser never
calls the completion route. Registered through the same hook as any plugin's handlers."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from salon.composition import job_services
from salon.db.models import UploadIntent
from salon.domain.uploads.services import UploadInProgress, UploadRefused
from salon.errors import UnsupportedMedia
from salon.hookspecs import hookimpl
from salon.providers import JobContext, RegisterJobHandler

log = logging.getLogger("salon.uploads")

UPLOAD_SEGMENT = "uploads/"
# The browser normally completes its own upload within seconds; the event waits this long
# after the intent was made so that the two rarely meet.
GRACE_SECONDS = 20.0


def intent_id_from_key(key: str) -> uuid.UUID | None:
    """``[prefix/]uploads/<owner>/<intent>`` -> the intent id; None for any other key."""
    _, found, rest = key.partition(UPLOAD_SEGMENT)
    parts = rest.split("/")
    if not found or len(parts) != 2:
        return None
    try:
        return uuid.UUID(parts[1])
    except ValueError:
        return None


async def complete_from_storage_event(job: JobContext) -> Mapping[str, Any]:
    intent_id = intent_id_from_key(str(job.payload.get("key", "")))
    if intent_id is None:
        return {"skipped": "not an upload key"}
    uploads = job_services(job).uploads
    async with uploads.runtime.session_maker() as session:
        intent = await session.get(UploadIntent, intent_id)
        if intent is None or intent.status != "pending":
            return {"skipped": "no pending upload"}
        age = (dt.datetime.now(dt.UTC) - intent.created_at).total_seconds()
        if age < GRACE_SECONDS:
            await asyncio.sleep(GRACE_SECONDS - age)
            await session.refresh(intent)
            if intent.status != "pending":
                return {"skipped": "completed by the client"}
        try:
            image, _ = await uploads.complete_intent(session, intent)
        except UploadInProgress:
            return {"skipped": "being completed by the client"}
        except (UploadRefused, UnsupportedMedia) as exc:
            log.info("upload %s refused from its storage event: %s", intent_id, exc)
            return {"refused": str(exc)}
    return {"image_id": str(image.id)}


@hookimpl
def register_job_handlers(register: RegisterJobHandler) -> None:
    register("storage.object_created", complete_from_storage_event)
