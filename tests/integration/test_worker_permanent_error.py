"""A handler that raises PermanentJobError fails its job at once, without retries."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from salon import hookimpl
from salon.db.models import Job
from salon.domain.jobs.services import create_job
from salon.providers import JobContext, PermanentJobError
from salon.testing.fixtures import running_app

CALLS: list[int] = []


class Hopeless:
    __name__ = "hopeless-jobs"

    @hookimpl
    def register_job_handlers(self, register):  # type: ignore[no-untyped-def]
        async def handler(job: JobContext) -> None:
            CALLS.append(job.attempt)
            raise PermanentJobError("the input photo was deleted")

        register("hopeless", handler)


async def test_permanent_error_fails_without_retry(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", plugins=[Hopeless()]) as app:
        job = await create_job(
            app.runtime.session_maker, app.runtime.queue, kind="hopeless", owner_id=None, payload={}
        )
        for _ in range(300):
            async with app.runtime.session_maker() as session:
                row = await session.get(Job, uuid.UUID(str(job.id)))
                if row is not None and row.status == "failed":
                    break
            await asyncio.sleep(0.1)
        assert row is not None and row.status == "failed"
        assert row.error == "the input photo was deleted"
        assert CALLS == [1]
