"""``/api/jobs``: the caller's background jobs."""

from __future__ import annotations

import uuid

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK

from salon.domain.deps import CurrentUser, DbSession, RuntimeDep
from salon.domain.jobs.schemas import JobOut, job_out
from salon.domain.jobs.services import cancel_job, get_job
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

    @post("/{job_id:uuid}/cancel", operation_id="cancel_job", status_code=HTTP_200_OK)
    async def cancel(
        self,
        job_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
    ) -> JobOut:
        """Cancel one of the caller's queued or running jobs (a running video's ffmpeg is
        stopped within about a second and its temporary files removed); its status becomes
        ``cancelled``. A finished job answers 409; cancelling twice is harmless."""
        job = await get_job(db_session, job_id, current_user.id)
        if job is None:
            raise NotFoundException("job not found")
        # End the read first: cancel_job takes a connection of its own, and requests that each
        # hold one while waiting for another stall every request once the pool is full.
        await db_session.commit()
        await cancel_job(runtime.session_maker, job)
        await db_session.refresh(job)
        return job_out(job)
