"""Job and ingest metrics for /metrics: the app's in-process worker runs a job that succeeds
and one that succeeds after a retry, and an upload ingests an image; the registry /metrics
serves then counts them by kind and final state, with durations, retries and ingest time."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from prometheus_client import REGISTRY, generate_latest
from salon.domain.jobs.services import create_job
from salon.runtime import Runtime
from salon.testing.fixtures import running_app
from salon.worker import Worker

from .test_worker_jobs import (  # noqa: F401 (fixtures, found by pytest under these names)
    database_url,
    fast_config,
    runtime,
    wait_for_status,
)


def scrape() -> str:
    """What /metrics serves: Litestar's PrometheusController renders prometheus_client's default
    registry. (The test client's requests come from no IP address, so /metrics itself answers
    them 404; tests/startup/test_health_access.py reads it from loopback over HTTP.)"""
    return generate_latest(REGISTRY).decode()


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value (0 when the series is not there yet)."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if found == labels:
            return float(match.group(2))
    return 0.0


async def test_metrics_count_jobs_retries_and_ingest(
    runtime: Runtime,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    # The worker runs in this test's event loop on its own runtime (a runtime's engine belongs
    # to one loop); the upload goes through a running app of its own.
    before = scrape()
    log = str(tmp_path / "runs.log")
    echo = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.echo",
        owner_id=None,
        payload={"value": 1, "log": log},
    )
    flaky = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.flaky",
        owner_id=None,
        payload={"log": log, "fail_times": 1},
    )
    worker = Worker.from_runtime(runtime, fast_config())
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    for job in (echo, flaky):
        done = await wait_for_status(runtime, job.id, {"succeeded", "failed"}, timeout=30)
        assert done.status == "succeeded"
    stop.set()
    await running
    async with running_app(tmp_path / "app") as app:
        headers = await app.login()
        assert (await app.upload(headers)).status_code == 201
        # Not for the outside: the test client's requests have no internal address.
        assert (await app.client.get("/metrics")).status_code == 404
    after = scrape()

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("salon_jobs_total", kind="test.echo", state="succeeded") == 1
    assert delta("salon_jobs_total", kind="test.flaky", state="succeeded") == 1
    assert delta("salon_job_retries_total", kind="test.flaky") == 1
    # Two attempts of the flaky job were timed: one failed, one succeeded.
    assert delta("salon_job_duration_seconds_count", kind="test.flaky", outcome="failed") == 1
    assert delta("salon_job_duration_seconds_count", kind="test.flaky", outcome="succeeded") == 1
    assert delta("salon_job_duration_seconds_sum", kind="test.echo", outcome="succeeded") > 0
    assert delta("salon_image_ingest_seconds_count") == 1
    assert delta("salon_image_ingest_seconds_sum") > 0
