"""A real plugin with job handlers, for the worker tests (no tests of its own).

Loaded in-process with ``load_settings(extra_plugins=[module])`` and in worker subprocesses
with ``python -m salon.worker --plugin test_worker_plugin`` (this folder on PYTHONPATH).
Every handler appends a line to the file named by ``payload["log"]`` so tests can count how
often, in which process and at which attempt, a job really ran.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from salon import hookimpl
from salon.providers import JobContext


def _log(job: JobContext, event: str) -> None:
    with Path(job.payload["log"]).open("a") as handle:
        handle.write(f"{event} {job.job_id} {job.attempt} {os.getpid()}\n")


async def echo(job: JobContext) -> Mapping[str, Any]:
    _log(job, "start")
    await job.progress(0.5)
    _log(job, "done")
    return {"echo": job.payload.get("value")}


async def fail(job: JobContext) -> None:
    _log(job, "start")
    raise RuntimeError(f"boom on attempt {job.attempt}\nsecond line is not shown")


async def flaky(job: JobContext) -> Mapping[str, Any]:
    _log(job, "start")
    if job.attempt <= int(job.payload["fail_times"]):
        raise RuntimeError(f"flaky failure {job.attempt}")
    _log(job, "done")
    return {"attempt": job.attempt}


async def slow(job: JobContext) -> Mapping[str, Any]:
    """Sleeps ``payload["seconds"]`` in small steps, reporting progress."""
    _log(job, "start")
    seconds = float(job.payload["seconds"])
    steps = max(int(seconds / 0.1), 1)
    for step in range(steps):
        await asyncio.sleep(seconds / steps)
        await job.progress((step + 1) / steps)
    _log(job, "done")
    return {"slept": seconds}


async def hold(job: JobContext) -> Mapping[str, Any]:
    """Runs until the file ``payload["release"]`` exists: a long job the test ends."""
    _log(job, "start")
    release = Path(job.payload["release"])
    while not release.exists():
        await asyncio.sleep(0.05)
    _log(job, "done")
    return {"held": True}


@hookimpl
def register_job_handlers(register: Any) -> None:
    register("test.echo", echo)
    register("test.fail", fail)
    register("test.flaky", flaky)
    register("test.slow", slow)
    register("test.hold", hold, lane="long")
