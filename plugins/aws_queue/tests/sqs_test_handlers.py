"""Job handlers for the SQS worker tests, offered the way any plugin offers them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salon import hookimpl
from salon.providers import JobContext


async def echo(job: JobContext) -> Mapping[str, Any]:
    await job.progress(0.5)
    return {"echo": job.payload.get("value"), "attempt": job.attempt}


async def fail(job: JobContext) -> None:
    raise RuntimeError(f"sqs boom {job.attempt}")


@hookimpl
def register_job_handlers(register: Any) -> None:
    register("sqs.echo", echo)
    register("sqs.fail", fail)
