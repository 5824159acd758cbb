"""The core's own job handler for source imports, registered through the same hook as any
plugin's handlers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from salon.composition import job_services
from salon.domain.sources.services import entry_from_payload
from salon.hookspecs import hookimpl
from salon.providers import JobContext, RegisterJobHandler


async def run_source_import(job: JobContext) -> Mapping[str, Any]:
    if job.owner_id is None:
        raise ValueError("a source import needs an owner")
    service = job_services(job).sources

    async def progress(done: int, total: int) -> None:
        await job.progress(done / total if total else 1.0)

    # Jobs queued before the request passed its entries along have none: ask the source.
    listed = job.payload.get("entries")
    selected = [entry_from_payload(e) for e in listed] if listed is not None else None
    summary: Mapping[str, Any] = await service.run(
        uuid.UUID(str(job.owner_id)),
        job.payload["source"],
        job.payload["query"],
        progress,
        favorite=bool(job.payload.get("favorite", False)),
        selected=selected,
    )
    return summary


@hookimpl
def register_job_handlers(register: RegisterJobHandler) -> None:
    register("source_import", run_source_import)
