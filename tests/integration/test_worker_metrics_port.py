"""A standalone worker's job metrics (SALON_WORKER_METRICS_PORT): a real ``python -m
salon.worker`` subprocess runs a job, and its own port serves the Prometheus counters for it;
unset, the worker opens no port; a bad setting is refused."""

from __future__ import annotations

import asyncio
import signal
import urllib.error
import urllib.request
from pathlib import Path

import msgspec
import pytest
from salon.domain.jobs.services import create_job
from salon.runtime import Runtime
from salon.settings import CoreSettings
from salon.testing.localstack import free_port

from .test_job_metrics import sample
from .test_worker_crash import (  # noqa: F401 (fixtures, found by pytest under these names)
    database_url,
    environ,
    job_row,
    runtime,
    spawn,
    wait_exit,
    wait_until,
)


def scrape(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as answer:
            return str(answer.read().decode())
    except (urllib.error.URLError, ConnectionError):
        return None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_worker_serves_its_job_metrics(
    runtime: Runtime,  # noqa: F811
    environ: dict[str, str],  # noqa: F811
    spawn,  # noqa: F811
    tmp_path: Path,
) -> None:
    port = free_port()
    environ["SALON_WORKER_METRICS_PORT"] = str(port)
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.echo",
        owner_id=None,
        payload={"value": 7, "log": str(tmp_path / "runs.log")},
    )
    worker = spawn()

    async def succeeded() -> bool:
        return (await job_row(runtime, job.id)).status == "succeeded"

    await wait_until(succeeded, 60, "the worker subprocess to run the job")
    text = None
    for _ in range(50):  # the counter is incremented just after the row is written
        text = scrape(port)
        if text and sample(text, "salon_jobs_total", kind="test.echo", state="succeeded"):
            break
        await asyncio.sleep(0.1)
    assert text is not None, (tmp_path / "worker0.out").read_text()
    assert sample(text, "salon_jobs_total", kind="test.echo", state="succeeded") == 1
    assert (
        sample(text, "salon_job_duration_seconds_count", kind="test.echo", outcome="succeeded") == 1
    )
    worker.send_signal(signal.SIGTERM)
    assert await wait_exit(worker, 15) == 0
    assert scrape(port) is None  # the server went with the process


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_worker_without_the_setting_opens_no_port(
    runtime: Runtime,  # noqa: F811
    spawn,  # noqa: F811
    tmp_path: Path,
) -> None:
    job = await create_job(
        runtime.session_maker,
        runtime.queue,
        kind="test.echo",
        owner_id=None,
        payload={"value": 1, "log": str(tmp_path / "runs.log")},
    )
    worker = spawn()

    async def succeeded() -> bool:
        return (await job_row(runtime, job.id)).status == "succeeded"

    await wait_until(succeeded, 60, "the worker subprocess to run the job")
    assert "worker metrics on" not in (tmp_path / "worker0.out").read_text()
    worker.send_signal(signal.SIGTERM)
    assert await wait_exit(worker, 15) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("worker_metrics_port", 70000, "worker_metrics_port"),
        ("worker_metrics_port", -1, "worker_metrics_port"),
        ("worker_metrics_host", "not-an-address", "not-an-address"),
    ],
)
def test_bad_metrics_settings_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises((ValueError, msgspec.ValidationError), match=message):
        msgspec.convert({field: value}, CoreSettings)
