"""Worker processes on a shared database: SIGKILL mid-job loses nothing, SIGTERM is graceful.

Each worker is a real ``python -m salon.worker`` subprocess with the handlers of
``test_worker_plugin``. SQLite file always; PostgreSQL too when SALON_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from salon.db.migrate import upgrade
from salon.db.models import Job
from salon.domain.jobs.services import create_job
from salon.runtime import Runtime, build_runtime, load_settings
from salon.testing.fixtures import postgres_database

HERE = Path(__file__).parent
VT = 2


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
        return
    admin = os.environ.get("SALON_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("SALON_TEST_POSTGRES_URL is not set: PostgreSQL crash tests not run")
    async with postgres_database(admin) as url:
        yield url


@pytest.fixture
def environ(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_DATABASE_URL": database_url,
        "SALON_SECRET_KEY": "test-secret-key-for-crash-tests",
        "SALON_LOCAL_QUEUE_VISIBILITY_TIMEOUT": str(VT),
        "SALON_LOCAL_QUEUE_POLL_INTERVAL": "0.2",
    }


@pytest.fixture
async def runtime(environ: dict[str, str]) -> AsyncIterator[Runtime]:
    upgrade(environ["SALON_DATABASE_URL"])
    settings, pm, registry = load_settings(environ)
    rt = build_runtime(settings, pm, registry)
    yield rt
    await rt.close()


@pytest.fixture
def spawn(environ: dict[str, str], tmp_path: Path) -> Iterator[object]:
    """Start worker subprocesses; any still running at the end are killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
        env.update(environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
        index = len(started)
        log = (tmp_path / f"worker{index}.out").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "salon.worker", "--plugin", "test_worker_plugin", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


async def job_row(rt: Runtime, job_id: uuid.UUID) -> Job:
    async with rt.session_maker() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


def runs(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


async def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.1)


async def wait_exit(process: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() > deadline:
            pytest.fail(f"worker {process.pid} did not exit within {timeout} s")
        await asyncio.sleep(0.1)
    return process.returncode


async def test_sigkill_mid_job_is_finished_by_another_worker(
    runtime: Runtime, spawn, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.slow",
        owner_id=None,
        payload={"log": str(log), "seconds": 4},
    )
    first = spawn()

    async def mid_job() -> bool:
        row = await job_row(runtime, job.id)
        return row.status == "running" and row.progress > 0

    await wait_until(mid_job, 60, "the first worker to be mid-job")
    first.send_signal(signal.SIGKILL)
    assert await wait_exit(first, 10) == -signal.SIGKILL
    killed = await job_row(runtime, job.id)
    assert killed.status == "running"  # nobody finished it: the worker just vanished
    assert killed.progress < 1

    second = spawn()

    async def finished() -> bool:
        return (await job_row(runtime, job.id)).status in ("succeeded", "failed")

    await wait_until(finished, 60, "the second worker to finish the job")
    done = await job_row(runtime, job.id)
    assert done.status == "succeeded"
    assert done.result == {"slept": 4.0}
    assert done.attempts == 2
    lines = runs(log)
    starts = [line for line in lines if line[0] == "start"]
    dones = [line for line in lines if line[0] == "done"]
    assert [s[3] for s in starts] == [str(first.pid), str(second.pid)]
    assert [d[3] for d in dones] == [str(second.pid)]
    # An idle worker exits at once, and cleanly, on SIGTERM.
    second.send_signal(signal.SIGTERM)
    assert await wait_exit(second, 10) == 0
    assert await runtime.queue.receive(wait_seconds=0) is None


async def test_sigterm_lets_current_job_finish(runtime: Runtime, spawn, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.slow",
        owner_id=None,
        payload={"log": str(log), "seconds": 2},
    )
    worker = spawn()

    async def running() -> bool:
        return (await job_row(runtime, job.id)).status == "running"

    await wait_until(running, 60, "the worker to start the job")
    worker.send_signal(signal.SIGTERM)
    assert await wait_exit(worker, 15) == 0
    assert (await job_row(runtime, job.id)).status == "succeeded"


async def test_sigterm_releases_job_after_grace(runtime: Runtime, spawn, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.slow",
        owner_id=None,
        payload={"log": str(log), "seconds": 120},
    )
    worker = spawn("--grace-seconds", "1")

    async def running() -> bool:
        return (await job_row(runtime, job.id)).status == "running"

    await wait_until(running, 60, "the worker to start the job")
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert await wait_exit(worker, 15) == 0
    assert time.monotonic() - started < 8
    released = await job_row(runtime, job.id)
    assert released.status == "queued"
    # Released at once, not after the visibility timeout.
    delivery = await runtime.queue.receive(wait_seconds=1)
    assert delivery is not None and delivery.job_id == str(job.id)
