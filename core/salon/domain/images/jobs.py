"""The ``image.renditions`` job: a worker makes the renditions of an image that a web process
(one that does not run jobs itself) recorded as ``processing``. Registered through the same
hook as any plugin's handlers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from salon.composition import job_services
from salon.domain.images.processing import JOB_KIND
from salon.hookspecs import hookimpl
from salon.providers import JobContext, RegisterJobHandler


async def make_renditions(job: JobContext) -> Mapping[str, Any]:
    """Idempotent: an image already ready (or deleted) is left as it is."""
    try:
        image_id = uuid.UUID(str(job.payload.get("image_id", "")))
    except ValueError:
        return {"skipped": "no image id"}
    status = await job_services(job).renditions.process(image_id)
    return {"image_id": str(image_id), "status": status}


@hookimpl
def register_job_handlers(register: RegisterJobHandler) -> None:
    register(JOB_KIND, make_renditions)
