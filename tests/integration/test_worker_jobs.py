"""The worker against the real local queue and database, with handlers from a real plugin.

SQLite always; PostgreSQL too when SALON_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest
from salon.db.migrate import upgrade
from salon.db.models import Job
from salon.defaults.local_queue import LocalQueue
from salon.domain.jobs.services import create_job
from salon.errors import QueueUnavailable
from salon.providers import SHORT, Delivery
from salon.runtime import Runtime, build_runtime, load_settings
from salon.task_protection import EcsTaskProtection, task_protection_from_environ
from salon.testing.fixtures import postgres_database, running_app
from salon.worker import Worker, WorkerConfig, start_inprocess_worker

HERE = Path(__file__).parent
VT = 2  # visibility timeout of the test queues, seconds


def load_test_plugin() -> ModuleType:
    """The handlers' plugin module, imported once under its own name."""
    name = "test_worker_plugin"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE / "test_worker_plugin.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
        return
    admin = os.environ.get("SALON_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("SALON_TEST_POSTGRES_URL is not set: PostgreSQL worker tests not run")
    async with postgres_database(admin) as url:
        yield url


@pytest.fixture
async def runtime(tmp_path: Path, database_url: str) -> AsyncIterator[Runtime]:
    environ = {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_DATABASE_URL": database_url,
        "SALON_SECRET_KEY": "test-secret-key-for-worker-tests",
        "SALON_LOCAL_QUEUE_VISIBILITY_TIMEOUT": str(VT),
        "SALON_LOCAL_QUEUE_POLL_INTERVAL": "0.1",
    }
    upgrade(database_url)
    settings, pm, registry = load_settings(environ, extra_plugins=[load_test_plugin()])
    rt = build_runtime(settings, pm, registry)
    assert isinstance(rt.queue, LocalQueue)
    assert rt.queue.visibility_timeout == VT
    yield rt
    await rt.close()


def fast_config(**overrides: float) -> WorkerConfig:
    values: dict[str, float] = {"wait_seconds": 1.0, "retry_backoff": 0.0, "grace_seconds": 5.0}
    values.update(overrides)
    return WorkerConfig(**values)  # type: ignore[arg-type]


async def job_row(rt: Runtime, job_id: uuid.UUID) -> Job:
    async with rt.session_maker() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


def runs(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


async def wait_for_status(
    rt: Runtime, job_id: uuid.UUID, statuses: set[str], timeout: float
) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = await job_row(rt, job_id)
        if job.status in statuses or time.monotonic() > deadline:
            return job
        await asyncio.sleep(0.1)


async def test_job_succeeds_and_result_is_recorded(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.echo",
        owner_id=None,
        payload={"value": 42, "log": str(log)},
    )
    assert (await job_row(runtime, job.id)).status == "queued"
    worker = Worker.from_runtime(runtime, fast_config())
    await worker.run(once=True)
    done = await job_row(runtime, job.id)
    assert done.status == "succeeded"
    assert done.result == {"echo": 42}
    assert done.progress == 1.0
    assert done.attempts == 1
    assert done.error is None
    assert done.started_at is not None and done.finished_at is not None
    assert [r[0] for r in runs(log)] == ["start", "done"]
    # Acked: nothing left in the queue, not even after the visibility timeout.
    assert await runtime.queue.pending() == 0  # type: ignore[attr-defined]


async def test_failure_is_retried_then_failed(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.fail",
        owner_id=None,
        payload={"log": str(log)},
    )
    worker = Worker.from_runtime(runtime, fast_config(max_attempts=3))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    failed = await wait_for_status(runtime, job.id, {"failed"}, timeout=20)
    stop.set()
    await task
    assert failed.status == "failed"
    assert failed.attempts == 3
    # The short reason: first line only, nothing of the traceback.
    assert failed.error == "boom on attempt 3"
    assert [r[2] for r in runs(log)] == ["1", "2", "3"]
    assert await runtime.queue.pending() == 0  # type: ignore[attr-defined]


async def test_retry_then_success(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.flaky",
        owner_id=None,
        payload={"log": str(log), "fail_times": 2},
    )
    worker = Worker.from_runtime(runtime, fast_config())
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    done = await wait_for_status(runtime, job.id, {"succeeded", "failed"}, timeout=20)
    stop.set()
    await task
    assert done.status == "succeeded"
    assert done.attempts == 3
    assert done.result == {"attempt": 3}
    assert done.error is None


async def test_retry_waits_for_backoff(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.flaky",
        owner_id=None,
        payload={"log": str(log), "fail_times": 1},
    )
    worker = Worker.from_runtime(runtime, fast_config(retry_backoff=3.0))
    await worker.run(once=True)
    between = await job_row(runtime, job.id)
    # Back to queued with the failed attempt's reason visible to the client.
    assert between.status == "queued"
    assert between.error == "flaky failure 1"
    assert await runtime.queue.receive(wait_seconds=1) is None  # hidden during the backoff
    await worker.run(once=True)  # wait_seconds=1: still nothing
    assert len(runs(log)) == 1
    done_worker = Worker.from_runtime(runtime, fast_config(wait_seconds=4.0))
    await done_worker.run(once=True)
    assert (await job_row(runtime, job.id)).status == "succeeded"


async def test_duplicate_delivery_runs_once(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.echo",
        owner_id=None,
        payload={"value": 1, "log": str(log)},
    )
    # At-least-once: the same job id arrives a second time.
    await runtime.queue.enqueue(str(job.id))
    worker = Worker.from_runtime(runtime, fast_config())
    await worker.run(once=True)
    await worker.run(once=True)
    assert [r[0] for r in runs(log)] == ["start", "done"]
    assert (await job_row(runtime, job.id)).attempts == 1
    assert await runtime.queue.pending() == 0  # type: ignore[attr-defined]


async def test_concurrent_duplicates_run_once(runtime: Runtime, tmp_path: Path) -> None:
    """Two workers get the same job at the same time: one runs it, the other leaves its
    message, which comes back after the visibility timeout and is acked as finished."""
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.slow",
        owner_id=None,
        payload={"log": str(log), "seconds": 1.0},
    )
    await runtime.queue.enqueue(str(job.id))
    stop = asyncio.Event()
    workers = [Worker.from_runtime(runtime, fast_config()) for _ in range(2)]
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    await wait_for_status(runtime, job.id, {"succeeded"}, timeout=15)
    deadline = time.monotonic() + 15
    while await runtime.queue.pending() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*tasks)
    assert [r[0] for r in runs(log)] == ["start", "done"]
    assert (await job_row(runtime, job.id)).attempts == 1
    assert await runtime.queue.pending() == 0  # type: ignore[attr-defined]


async def test_heartbeat_keeps_long_job_hidden(runtime: Runtime, tmp_path: Path) -> None:
    """A job running for twice the visibility timeout is not delivered to a second worker."""
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.slow",
        owner_id=None,
        payload={"log": str(log), "seconds": VT * 2.5},
    )
    worker = Worker.from_runtime(runtime, fast_config())
    task = asyncio.create_task(worker.run(once=True))
    running = await wait_for_status(runtime, job.id, {"running"}, timeout=5)
    assert running.status == "running"
    assert await runtime.queue.receive(wait_seconds=VT * 2) is None
    mid = await job_row(runtime, job.id)
    assert 0 < mid.progress < 1  # progress is written while the job runs
    await task
    assert (await job_row(runtime, job.id)).status == "succeeded"


async def test_unknown_kind_and_missing_job(runtime: Runtime, tmp_path: Path) -> None:
    job = await create_job(
        runtime.session_maker, runtime.queue, kind="no.such.kind", owner_id=None, payload={}
    )
    await runtime.queue.enqueue(str(uuid.uuid4()))  # a job id with no row
    await runtime.queue.enqueue("not-a-uuid")
    worker = Worker.from_runtime(runtime, fast_config())
    for _ in range(3):
        await worker.run(once=True)
    failed = await job_row(runtime, job.id)
    assert failed.status == "failed"
    assert failed.error == "no handler for job kind 'no.such.kind'"
    assert await runtime.queue.pending() == 0  # type: ignore[attr-defined]


async def test_job_over_attempt_limit_is_failed_before_running(
    runtime: Runtime, tmp_path: Path
) -> None:
    """The local queue's stand-in for a dead-letter queue: a job whose earlier attempts all
    died (no exception recorded) is failed instead of run again."""
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.echo",
        owner_id=None,
        payload={"log": str(log)},
    )
    async with runtime.session_maker() as session, session.begin():
        row = await session.get(Job, job.id)
        assert row is not None
        row.attempts = 3
    worker = Worker.from_runtime(runtime, fast_config(max_attempts=3))
    await worker.run(once=True)
    failed = await job_row(runtime, job.id)
    assert failed.status == "failed"
    assert failed.error == "gave up after 3 attempts"
    assert runs(log) == []


async def test_graceful_stop_finishes_job_within_grace(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.slow",
        owner_id=None,
        payload={"log": str(log), "seconds": 1.0},
    )
    stop = asyncio.Event()
    worker = Worker.from_runtime(runtime, fast_config(grace_seconds=10))
    task = asyncio.create_task(worker.run(stop))
    await wait_for_status(runtime, job.id, {"running"}, timeout=5)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert (await job_row(runtime, job.id)).status == "succeeded"


async def test_graceful_stop_releases_job_after_grace(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.slow",
        owner_id=None,
        payload={"log": str(log), "seconds": 60},
    )
    stop = asyncio.Event()
    worker = Worker.from_runtime(runtime, fast_config(grace_seconds=0.5))
    task = asyncio.create_task(worker.run(stop))
    await wait_for_status(runtime, job.id, {"running"}, timeout=5)
    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 3
    released = await job_row(runtime, job.id)
    assert released.status == "queued"
    # Released, not left hidden: another worker can take it at once.
    delivery = await runtime.queue.receive(wait_seconds=1)
    assert delivery is not None and delivery.job_id == str(job.id)


async def test_inprocess_worker_runs_jobs(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    handle = await start_inprocess_worker(runtime, fast_config(wait_seconds=20))
    try:
        started = time.monotonic()
        job = await create_job(
            runtime.session_maker,
            runtime.queue,
            kind="test.echo",
            owner_id=None,
            payload={"value": "hi", "log": str(log)},
        )
        done = await wait_for_status(runtime, job.id, {"succeeded"}, timeout=10)
        # enqueue wakes the in-process receiver; no 20 s poll wait.
        assert time.monotonic() - started < 5
        assert done.result == {"echo": "hi"}
    finally:
        stopping = time.monotonic()
        await handle.stop()
        assert time.monotonic() - stopping < 3
    assert handle.task.done()


class _RefusingQueue(LocalQueue):
    async def enqueue(self, job_id: str, *, lane: str = SHORT) -> None:
        raise QueueUnavailable("refused for the test")


async def test_create_job_leaves_nothing_when_queue_refuses(runtime: Runtime) -> None:
    refusing = _RefusingQueue(runtime.session_maker, visibility_timeout=VT)
    with pytest.raises(QueueUnavailable):
        await create_job(
            runtime.session_maker, refusing, kind="test.echo", owner_id=None, payload={}
        )
    async with runtime.session_maker() as session:
        from sqlalchemy import func, select

        assert await session.scalar(select(func.count()).select_from(Job)) == 0


async def test_a_short_job_runs_while_every_long_slot_is_busy(
    runtime: Runtime, tmp_path: Path
) -> None:
    """Issue 17: a short job queued after two long ones finishes first, while the one long slot
    runs the first long job; the second long job waits for the long slot, not the short one."""
    log, release = tmp_path / "runs.log", tmp_path / "release"
    assert (runtime.lane_of("test.hold"), runtime.lane_of("test.echo")) == ("long", "short")

    async def queue(kind: str, **payload: object) -> Job:
        return await create_job(
            runtime.session_maker,
            runtime.queue,
            kind=kind,
            owner_id=None,
            payload={"log": str(log), **payload},
            lane=runtime.lane_of(kind),
        )

    first = await queue("test.hold", release=str(release))
    second = await queue("test.hold", release=str(release))
    stop = asyncio.Event()
    worker = Worker.from_runtime(runtime, fast_config())  # one short slot, one long slot
    assert worker.slots() == [("short", 1), ("long", 1)]
    task = asyncio.create_task(worker.run(stop))
    try:
        assert (await wait_for_status(runtime, first.id, {"running"}, 5)).status == "running"
        quick = await queue("test.echo", value=7)
        done = await wait_for_status(runtime, quick.id, {"succeeded"}, 5)
        assert (done.status, done.result) == ("succeeded", {"echo": 7})
        assert (await job_row(runtime, first.id)).status == "running"
        assert (await job_row(runtime, second.id)).status == "queued"
        release.touch()
        for job in (first, second):
            finished = await wait_for_status(runtime, job.id, {"succeeded"}, 10)
            assert finished.status == "succeeded"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    started = [line[1] for line in runs(log) if line[0] == "start"]
    assert started == [str(first.id), str(quick.id), str(second.id)]
    assert await runtime.queue.pending() == 0  # type: ignore[attr-defined]


async def test_a_worker_without_long_slots_leaves_long_jobs(
    runtime: Runtime, tmp_path: Path
) -> None:
    """SALON_WORKER_LONG_SLOTS=0: this worker runs short jobs only; a long job waits queued
    for a worker with a long slot (another process), which then runs it."""
    log, release = tmp_path / "runs.log", tmp_path / "release"
    release.touch()
    held = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.hold",
        owner_id=None,
        payload={"log": str(log), "release": str(release)},
        lane="long",
    )
    short_only = Worker.from_runtime(runtime, fast_config(long_slots=0, wait_seconds=0.5))
    assert short_only.slots() == [("short", 1)]
    await short_only.run(once=True)
    assert (await job_row(runtime, held.id)).status == "queued"
    long_only = Worker.from_runtime(runtime, fast_config(short_slots=0))
    await long_only.run(once=True)
    assert (await job_row(runtime, held.id)).status == "succeeded"


async def test_heartbeat_extends_message(runtime: Runtime, tmp_path: Path) -> None:
    """Worker.handle on a delivery it got itself keeps the receipt current to the end."""
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.slow",
        owner_id=None,
        payload={"log": str(log), "seconds": VT * 1.5},
    )
    delivery = await runtime.queue.receive(wait_seconds=1)
    assert isinstance(delivery, Delivery)
    worker = Worker.from_runtime(runtime, fast_config())
    await worker.handle(delivery)
    assert (await job_row(runtime, job.id)).status == "succeeded"
    # The final ack used a receipt that was still current: the message is gone.
    assert await runtime.queue.pending() == 0  # type: ignore[attr-defined]


async def test_jobs_api_shows_own_job_only(tmp_path: Path) -> None:
    async with running_app(tmp_path / "app", plugins=[load_test_plugin()]) as app:
        alice = await app.login()
        bob = await app.login()
        me = (await app.client.get("/api/me", headers=alice)).json()
        rt = app.runtime
        job = await create_job(
            rt.session_maker,
            rt.queue,
            kind="test.echo",
            owner_id=uuid.UUID(me["id"]),
            payload={"value": 7, "log": str(tmp_path / "runs.log")},
        )
        url = f"/api/jobs/{job.id}"
        deadline = time.monotonic() + 15
        while True:
            response = await app.client.get(url, headers=alice)
            assert response.status_code == 200, response.text
            body = response.json()
            if body["status"] == "succeeded" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert body["status"] == "succeeded"  # run by the in-process worker of the app
        assert body["id"] == str(job.id)
        assert body["kind"] == "test.echo"
        assert body["progress"] == 1.0
        assert body["error"] is None
        assert body["result"] == {"echo": 7}
        other = await app.client.get(url, headers=bob)
        missing = await app.client.get(f"/api/jobs/{uuid.uuid4()}", headers=alice)
        assert other.status_code == missing.status_code == 404
        assert other.json()["detail"] == missing.json()["detail"]
        assert (await app.client.get(url)).status_code == 401
        assert (await app.client.get("/api/jobs/not-a-uuid", headers=alice)).status_code in (
            400,
            404,
        )


# ---- ECS task scale-in protection around each job: the worker asks the ECS agent's endpoint
# (a real HTTP server on loopback standing in for the agent) to protect the task while a job
# runs and releases it after; an unreachable agent never stops the job.


class Agent(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict[str, object]]]

    def do_PUT(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append((self.path, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"protection": {}}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def agent() -> Iterator[tuple[str, list[tuple[str, dict[str, object]]]]]:
    calls: list[tuple[str, dict[str, object]]] = []
    handler = type("RecordingAgent", (Agent,), {"calls": calls})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v3/abc", calls
    server.shutdown()
    server.server_close()


async def test_a_job_runs_under_protection(
    runtime: Runtime, tmp_path: Path, agent: tuple[str, list[tuple[str, dict[str, object]]]]
) -> None:
    uri, calls = agent
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.echo",
        owner_id=None,
        payload={"value": 7, "log": str(log)},
    )
    worker = Worker.from_runtime(runtime, fast_config())
    worker.protection = task_protection_from_environ({"ECS_AGENT_URI": uri})
    await worker.run(once=True)
    assert (await job_row(runtime, job.id)).status == "succeeded"
    assert [r[0] for r in runs(log)] == ["start", "done"]
    assert calls == [
        ("/v3/abc/task-protection/v1/state", {"ProtectionEnabled": True, "ExpiresInMinutes": 10}),
        ("/v3/abc/task-protection/v1/state", {"ProtectionEnabled": False}),
    ]


async def test_an_unreachable_agent_does_not_stop_the_job(runtime: Runtime, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.echo",
        owner_id=None,
        payload={"value": 1, "log": str(log)},
    )
    worker = Worker.from_runtime(runtime, fast_config())
    worker.protection = EcsTaskProtection("http://127.0.0.1:9/nothing", timeout=1.0)
    await worker.run(once=True)
    assert (await job_row(runtime, job.id)).status == "succeeded"


def test_outside_ecs_there_is_no_protection() -> None:
    assert task_protection_from_environ({}) is None
    assert task_protection_from_environ({"ECS_AGENT_URI": "file:///etc/passwd"}) is None
