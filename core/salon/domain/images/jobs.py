"""The ``image.renditions`` job: a worker makes the renditions of an image that a web process
(one that does not run jobs itself) recorded as ``processing``, or the renditions a ``ready``
image lacks (``payload["names"]``: those, made again), as ``salon.images.refresh_renditions``
does. Registered through the same hook as any plugin's handlers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from salon.composition import job_services
from salon.domain.images.processing import JOB_KIND, READY
from salon.hookspecs import hookimpl
from salon.providers import JobContext, RegisterJobHandler


async def make_renditions(job: JobContext) -> Mapping[str, Any]:
    """Idempotent: a deleted or failed image is left as it is; a ready one gets the
    renditions it lacks (or those ``names`` gives, again), listed in the result's ``made``."""
    try:
        image_id = uuid.UUID(str(job.payload.get("image_id", "")))
    except ValueError:
        return {"skipped": "no image id"}
    renditions = job_services(job).renditions
    image = await renditions.load(image_id)
    if image is None or image.status != READY:
        # An upload's: made now (the row read here is not read again), or failed or gone.
        status = await renditions.process(image_id, image=image)
        return {"image_id": str(image_id), "status": status}
    names = job.payload.get("names")
    if names is not None and not (
        isinstance(names, list) and all(isinstance(n, str) for n in names)
    ):
        raise ValueError("payload 'names' must be a list of rendition names")
    made = await renditions.refresh(image_id, names)
    return {"image_id": str(image_id), "status": READY, "made": made}


@hookimpl
def register_job_handlers(register: RegisterJobHandler) -> None:
    register(JOB_KIND, make_renditions)
