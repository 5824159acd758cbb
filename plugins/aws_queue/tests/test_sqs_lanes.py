"""Issue 17 item 11 on SQS: with SALON_SQS_LONG_QUEUE_URL a short job queued after long ones
finishes first while the worker's one long slot runs a long job, on LocalStack (and moto),
through the real worker; a dead-lettered long job is still failed by the sweep."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from salon.db.migrate import upgrade
from salon.db.models import Job
from salon.domain.jobs.services import create_job
from salon.runtime import Runtime, build_runtime, load_settings
from salon.testing.moto import FAKE_CREDENTIALS
from salon.worker import Worker, WorkerConfig
from salon_aws_queue import SqsQueue

from .conftest import create_queue, load_handlers, sqs_client


@pytest.fixture(params=["moto", pytest.param("localstack", marks=pytest.mark.localstack)])
def endpoint(request: pytest.FixtureRequest) -> str:
    name = "moto_url" if request.param == "moto" else "localstack_endpoint"
    return str(request.getfixturevalue(name))


@pytest.fixture
async def runtime(
    tmp_path: Path, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Runtime, dict[str, str]]]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    urls = create_queue(endpoint, max_receives=2, long=True)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
    environ = {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_DATABASE_URL": database_url,
        "SALON_SECRET_KEY": "test-secret-key-for-sqs-lanes",
        "SALON_QUEUE": "sqs",
        "SALON_SQS_QUEUE_URL": urls["queue"],
        "SALON_SQS_LONG_QUEUE_URL": urls["long"],
        "SALON_SQS_VISIBILITY_TIMEOUT": "3",
        "SALON_SQS_WAIT_SECONDS": "1",
        "SALON_SQS_MAX_RECEIVES": "2",
    }
    upgrade(database_url)
    settings, pm, registry = load_settings(environ, extra_plugins=[load_handlers()])
    rt = build_runtime(settings, pm, registry)
    assert isinstance(rt.queue, SqsQueue) and rt.queue.lanes_apart
    yield rt, urls
    await rt.close()


async def status(rt: Runtime, job_id: uuid.UUID, wanted: str, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while True:
        async with rt.session_maker() as session:
            job = await session.get(Job, job_id)
        assert job is not None
        if job.status == wanted or time.monotonic() > deadline:
            return str(job.status)
        await asyncio.sleep(0.1)


def visible(endpoint: str, url: str) -> int:
    attributes = sqs_client(endpoint).get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


async def test_a_short_job_finishes_while_the_long_slot_is_busy(
    runtime: tuple[Runtime, dict[str, str]], endpoint: str, tmp_path: Path
) -> None:
    rt, urls = runtime
    release = tmp_path / "release"

    async def queue(kind: str, **payload: object) -> Job:
        return await create_job(
            rt.session_maker,
            rt.queue,
            kind=kind,
            owner_id=None,
            payload=payload,
            lane=rt.lane_of(kind),
        )

    first = await queue("sqs.hold", release=str(release))
    second = await queue("sqs.hold", release=str(release))
    # Filed in the long jobs' queue, not the main one.
    assert (visible(endpoint, urls["long"]), visible(endpoint, urls["queue"])) == (2, 0)
    stop = asyncio.Event()
    worker = Worker.from_runtime(rt, WorkerConfig(wait_seconds=1, retry_backoff=0))
    assert worker.slots() == [("short", 1), ("long", 1)]
    task = asyncio.create_task(worker.run(stop))
    try:
        assert await status(rt, first.id, "running", 15) == "running"
        started = time.monotonic()
        quick = await queue("sqs.echo", value=5)
        assert await status(rt, quick.id, "succeeded", 15) == "succeeded"
        print(f"short job done in {time.monotonic() - started:.1f} s behind a busy long slot")
        assert await status(rt, first.id, "running", 0) == "running"
        assert await status(rt, second.id, "queued", 0) == "queued"
        release.touch()
        for job in (first, second):
            assert await status(rt, job.id, "succeeded", 20) == "succeeded"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def test_a_long_job_that_keeps_dying_is_dead_lettered_and_failed(
    runtime: tuple[Runtime, dict[str, str]], endpoint: str, tmp_path: Path
) -> None:
    """The long jobs' queue redrives to the shared DLQ; the sweep fails the job from there."""
    rt, urls = runtime
    job = await create_job(
        rt.session_maker,
        rt.queue,
        kind="sqs.hold",
        owner_id=None,
        payload={"release": str(tmp_path / "never")},
        lane="long",
    )
    client = sqs_client(endpoint)
    for _ in range(3):  # received and never deleted: a worker killed each time
        client.receive_message(QueueUrl=urls["long"], VisibilityTimeout=0, WaitTimeSeconds=1)
    assert isinstance(rt.queue, SqsQueue)
    assert await rt.queue.dead_letter_queues() == {"short": urls["dlq"]}
    worker = Worker.from_runtime(rt, WorkerConfig(wait_seconds=1))
    deadline = time.monotonic() + 20
    while await worker.sweep_dead_letters() == 0 and time.monotonic() < deadline:
        client.receive_message(QueueUrl=urls["long"], VisibilityTimeout=0, WaitTimeSeconds=1)
    assert await status(rt, job.id, "failed", 0) == "failed"
