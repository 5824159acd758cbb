"""The job as clients see it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from salon.db.models import Job


class JobOut(msgspec.Struct):
    """``GET /api/jobs/{id}``: status is queued, running, succeeded, failed or cancelled."""

    id: str
    kind: str
    status: str
    progress: float
    error: str | None
    result: dict[str, Any] | None
    created_at: dt.datetime


def job_out(job: Job) -> JobOut:
    return JobOut(
        id=str(job.id),
        kind=job.kind,
        status=job.status,
        progress=round(job.progress, 4),
        error=job.error,
        result=job.result,
        created_at=job.created_at,
    )
