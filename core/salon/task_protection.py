"""ECS task scale-in protection while the worker runs a job.

The worker service scales in on queue depth: without protection, ECS may stop a task in the
middle of a ten-minute video because the queue looks empty (the message being worked on is
in flight, not visible). The worker therefore asks the ECS agent to protect its task for the
length of each job, and releases the protection when the job ends. Outside ECS (no
``ECS_AGENT_URI`` in the container's environment) nothing is done.

https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "EcsTaskProtection",
    "SharedProtection",
    "TaskProtection",
    "task_protection_from_environ",
]

log = logging.getLogger(__name__)

# Each protection lasts this long and is renewed at half-time while the job runs: a worker
# that dies mid-job leaves its task protected for at most this long.
PROTECTION_MINUTES: Final = 10


class TaskProtection(Protocol):
    """Something that keeps the orchestrator from stopping this task during a job."""

    def held(self) -> contextlib.AbstractAsyncContextManager[None]: ...


class SharedProtection:
    """One protection held while any of a worker's slots runs a job: the first job to start
    turns it on, the last to end turns it off (a job ending beside another must not drop the
    other's protection)."""

    def __init__(self, inner: TaskProtection) -> None:
        self._inner = inner
        self._jobs = 0
        self._lock = asyncio.Lock()
        self._hold: contextlib.AbstractAsyncContextManager[None] | None = None

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        async with self._lock:
            self._jobs += 1
            if self._jobs == 1:
                self._hold = self._inner.held()
                await self._hold.__aenter__()
        try:
            yield
        finally:
            async with self._lock:
                self._jobs -= 1
                if self._jobs == 0 and self._hold is not None:
                    hold, self._hold = self._hold, None
                    await hold.__aexit__(None, None, None)


@dataclass(frozen=True, slots=True)
class EcsTaskProtection:
    """Protection through the ECS agent's ``/task-protection/v1/state`` endpoint.

    A failed call is logged and the job runs anyway: losing protection costs at worst a
    retried job (jobs are idempotent), while refusing work would stop the queue.
    """

    agent_uri: str
    minutes: int = PROTECTION_MINUTES
    timeout: float = 5.0

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self._set(True, self.minutes)
        renewing = asyncio.create_task(self._renew())
        try:
            yield
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            await self._set(False, None)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.minutes * 30)
            await self._set(True, self.minutes)

    async def _set(self, enabled: bool, minutes: int | None) -> None:
        body: dict[str, object] = {"ProtectionEnabled": enabled}
        if minutes is not None:
            body["ExpiresInMinutes"] = minutes
        try:
            await asyncio.to_thread(self._put, body)
        except (OSError, urllib.error.URLError, ValueError) as exc:
            log.warning("ECS task protection %s failed: %s", "on" if enabled else "off", exc)

    def _put(self, body: Mapping[str, object]) -> None:
        request = urllib.request.Request(  # noqa: S310 (http(s) only: task_protection_from_environ)
            self.agent_uri.rstrip("/") + "/task-protection/v1/state",
            data=json.dumps(body).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
            answer.read()


def task_protection_from_environ(environ: Mapping[str, str]) -> EcsTaskProtection | None:
    """ECS puts ``ECS_AGENT_URI`` in every task's environment; read once at start-up."""
    uri = environ.get("ECS_AGENT_URI", "")
    if not uri.startswith(("http://", "https://")):
        return None
    return EcsTaskProtection(uri)
