"""Job handlers for the SQS worker tests, offered the way any plugin offers them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from salon import hookimpl
from salon.providers import JobContext


async def echo(job: JobContext) -> Mapping[str, Any]:
    await job.progress(0.5)
    return {"echo": job.payload.get("value"), "attempt": job.attempt}


async def fail(job: JobContext) -> None:
    raise RuntimeError(f"sqs boom {job.attempt}")


async def slow(job: JobContext) -> Mapping[str, Any]:
    """Sleeps ``payload["seconds"]`` in steps with progress; returns the worker's pid."""
    seconds = float(job.payload["seconds"])
    for step in range(20):
        await asyncio.sleep(seconds / 20)
        await job.progress((step + 1) / 20)
    return {"pid": os.getpid(), "attempt": job.attempt}


async def hold(job: JobContext) -> Mapping[str, Any]:
    """Runs until the file ``payload["release"]`` exists: a long job the test ends."""
    while not Path(job.payload["release"]).exists():
        await asyncio.sleep(0.05)
    return {"held": True}


@hookimpl
def register_job_handlers(register: Any) -> None:
    register("sqs.echo", echo)
    register("sqs.fail", fail)
    register("sqs.slow", slow)
    register("sqs.hold", hold, lane="long")
