"""``/api/jobs``: the caller's background jobs."""

from __future__ import annotations

import uuid

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from salon.domain.deps import CurrentUser, DbSession
from salon.domain.jobs.schemas import JobOut, job_out
from salon.domain.jobs.services import get_job
from salon.domain.openapi import AUTHENTICATED


class JobController(Controller):
    path = "/api/jobs"
    tags = ["jobs"]
    security = AUTHENTICATED

    @get("/{job_id:uuid}", operation_id="get_job")
    async def get(
        self, job_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> JobOut:
        """One of the caller's jobs; another user's job answers 404 like a missing one."""
        job = await get_job(db_session, job_id, current_user.id)
        if job is None:
            raise NotFoundException("job not found")
        return job_out(job)
