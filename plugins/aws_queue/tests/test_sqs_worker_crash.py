"""SIGKILL a ``python -m salon.worker`` process mid-job on SQS (moto server): the message comes
back after the visibility timeout and a second worker process finishes the job."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from salon.db.migrate import upgrade
from salon.db.models import Job
from salon.domain.jobs.services import create_job
from salon.runtime import Runtime, build_runtime, load_settings
from salon.testing.moto import FAKE_CREDENTIALS

from .conftest import create_queue

HERE = Path(__file__).parent


async def job_row(rt: Runtime, job_id: uuid.UUID) -> Job:
    async with rt.session_maker() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


async def wait_for(rt: Runtime, job_id: uuid.UUID, check, timeout: float) -> Job:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        job = await job_row(rt, job_id)
        if check(job):
            return job
        assert time.monotonic() < deadline, f"timed out; job is {job.status}"
        await asyncio.sleep(0.1)


async def test_sigkilled_worker_job_finished_by_second_worker(
    tmp_path: Path, moto_url: str
) -> None:
    urls = create_queue(moto_url, max_receives=5)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
    environ = {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_DATABASE_URL": database_url,
        "SALON_SECRET_KEY": "test-secret-key-for-sqs-crash",
        "SALON_QUEUE": "sqs",
        "SALON_SQS_QUEUE_URL": urls["queue"],
        "SALON_SQS_VISIBILITY_TIMEOUT": "2",
        "SALON_SQS_WAIT_SECONDS": "1",
    }
    aws = {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": moto_url}
    upgrade(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALON_", "AWS_"))}
    env.update(environ)
    env.update(aws)
    env["PYTHONPATH"] = str(HERE)
    old = {k: os.environ.get(k) for k in aws}
    os.environ.update(aws)
    try:
        settings, pm, registry = load_settings(environ)
        runtime = build_runtime(settings, pm, registry)
        job = await create_job(
            runtime.session_maker,
            runtime.queue,
            kind="sqs.slow",
            owner_id=None,
            payload={"seconds": 4},
        )
        command = [sys.executable, "-m", "salon.worker", "--plugin", "sqs_test_handlers"]
        outputs = [(tmp_path / f"w{i}.out").open("wb") for i in range(2)]
        first = subprocess.Popen(command, env=env, stdout=outputs[0], stderr=subprocess.STDOUT)
        second = None
        try:
            await wait_for(runtime, job.id, lambda j: j.status == "running" and j.progress > 0, 60)
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
            second = subprocess.Popen(command, env=env, stdout=outputs[1], stderr=subprocess.STDOUT)
            done = await wait_for(
                runtime, job.id, lambda j: j.status != "running" and j.status != "queued", 60
            )
            assert done.status == "succeeded"
            assert done.attempts == 2
            assert done.result == {"pid": second.pid, "attempt": 2}
            second.send_signal(signal.SIGTERM)
            assert second.wait(15) == 0
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait(10)
            await runtime.close()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
