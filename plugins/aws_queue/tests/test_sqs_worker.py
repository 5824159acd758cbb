"""The worker on SQS (moto server), built from settings through boto3's standard chain:
success, retries then failure, and a poison message reaching the DLQ with its job failed."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from salon.db.migrate import upgrade
from salon.db.models import Job
from salon.domain.jobs.services import create_job
from salon.runtime import Runtime, build_runtime, load_settings
from salon.testing.moto import FAKE_CREDENTIALS
from salon.worker import Worker, WorkerConfig
from salon_aws_queue import SqsQueue

from .conftest import create_queue, load_handlers, sqs_client

MAX_RECEIVES = 2


@pytest.fixture
async def sqs_runtime(
    tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Runtime, dict[str, str]]]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    urls = create_queue(moto_url, max_receives=MAX_RECEIVES)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
    environ = {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_DATABASE_URL": database_url,
        "SALON_SECRET_KEY": "test-secret-key-for-sqs-worker",
        "SALON_QUEUE": "sqs",
        "SALON_SQS_QUEUE_URL": urls["queue"],
        "SALON_SQS_VISIBILITY_TIMEOUT": "2",
        "SALON_SQS_WAIT_SECONDS": "1",
        "SALON_SQS_MAX_RECEIVES": str(MAX_RECEIVES),
    }
    upgrade(database_url)
    settings, pm, registry = load_settings(environ, extra_plugins=[load_handlers()])
    runtime = build_runtime(settings, pm, registry)
    assert isinstance(runtime.queue, SqsQueue)
    yield runtime, urls
    await runtime.close()


def counts(endpoint: str, queue_url: str) -> tuple[int, int]:
    attributes = sqs_client(endpoint).get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


async def job_row(rt: Runtime, job_id: uuid.UUID) -> Job:
    async with rt.session_maker() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


def config() -> WorkerConfig:
    return WorkerConfig(wait_seconds=1, retry_backoff=0, grace_seconds=5)


async def test_job_succeeds_and_message_is_deleted(
    sqs_runtime: tuple[Runtime, dict[str, str]], moto_url: str
) -> None:
    runtime, urls = sqs_runtime
    await runtime.queue.check()
    job = await create_job(
        runtime.session_maker, runtime.queue, kind="sqs.echo", owner_id=None, payload={"value": 3}
    )
    assert counts(moto_url, urls["queue"]) == (1, 0)
    worker = Worker.from_runtime(runtime, config())
    assert worker.max_attempts == MAX_RECEIVES  # taken from SALON_SQS_MAX_RECEIVES
    await worker.run(once=True)
    done = await job_row(runtime, job.id)
    assert done.status == "succeeded"
    assert done.result == {"echo": 3, "attempt": 1}
    assert counts(moto_url, urls["queue"]) == (0, 0)


async def test_failing_job_is_failed_after_max_receives(
    sqs_runtime: tuple[Runtime, dict[str, str]], moto_url: str
) -> None:
    runtime, urls = sqs_runtime
    job = await create_job(
        runtime.session_maker, runtime.queue, kind="sqs.fail", owner_id=None, payload={}
    )
    worker = Worker.from_runtime(runtime, config())
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    deadline = time.monotonic() + 20
    while (await job_row(runtime, job.id)).status != "failed" and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    stop.set()
    await task
    failed = await job_row(runtime, job.id)
    assert failed.status == "failed"
    assert failed.attempts == MAX_RECEIVES
    assert failed.error == f"sqs boom {MAX_RECEIVES}"
    # The worker gave up and deleted the message itself: nothing in the queue or the DLQ.
    assert counts(moto_url, urls["queue"]) == (0, 0)
    assert counts(moto_url, urls["dlq"]) == (0, 0)


async def test_poison_message_reaches_dlq_and_job_is_failed(
    sqs_runtime: tuple[Runtime, dict[str, str]], moto_url: str
) -> None:
    """Workers that die mid-job never ack; after maxReceiveCount receives SQS moves the
    message to the DLQ, and the worker's sweep marks the job failed."""
    runtime, urls = sqs_runtime
    queue: Any = runtime.queue
    job = await create_job(
        runtime.session_maker, runtime.queue, kind="sqs.echo", owner_id=None, payload={}
    )
    for attempt in range(1, MAX_RECEIVES + 1):
        # A worker receives the message and dies before acking it.
        delivery = await queue.receive(wait_seconds=queue.visibility_timeout + 3)
        assert delivery is not None and delivery.receive_count == attempt
    # The next receive finds it over the limit: SQS moves it to the DLQ instead.
    assert await queue.receive(wait_seconds=queue.visibility_timeout + 2) is None
    assert counts(moto_url, urls["dlq"])[0] == 1
    assert await queue.dead_letter_queue_url() == urls["dlq"]
    worker = Worker.from_runtime(runtime, config())
    await worker.run(once=True)  # sweeps the DLQ when it starts
    failed = await job_row(runtime, job.id)
    assert failed.status == "failed"
    assert "dead-letter queue" in (failed.error or "")
    assert counts(moto_url, urls["dlq"]) == (0, 0)
    # A second sweep finds nothing.
    assert await worker.sweep_dead_letters() == 0


async def test_queue_without_redrive_has_no_dead_letters(moto_url: str) -> None:
    from .conftest import make_queue

    queue = make_queue(moto_url, create_queue(moto_url)["queue"])
    assert await queue.dead_letter_queue_url() is None
    assert await queue.receive_dead_letter() is None
    await queue.close()
