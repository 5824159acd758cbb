"""Optional provider capabilities are Protocols in salon.providers, asked for with isinstance
(not probed with getattr): the worker's attempts and long-poll wait follow a queue that has
them and fall back without; the CSP's extra origins come from a storage that has them; and the
guide's table names each capability with its members."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from salon import providers
from salon.app import _browser_origins
from salon.worker import Worker, WorkerConfig

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
CAPABILITIES = {
    "RedeliveryLimit": ["max_receives"],
    "LongPollLimit": ["wait_seconds"],
    "DeadLetterQueue": ["receive_dead_letter", "ack_dead_letter"],
    "JobLanes": ["lanes_apart", "enqueue", "receive"],
    "BrowserOrigins": ["browser_origins"],
    "ReadinessCheck": ["check"],
    "Closeable": ["aclose"],
    "SignupConfirmation": ["confirms_signups"],
    "PasswordSetting": ["set_password"],
}


class PlainQueue:
    """Only what JobQueue asks for matters here: no optional attribute at all."""


class SqsLikeQueue:
    max_receives = 3
    wait_seconds = 2


def _worker(queue: Any, config: WorkerConfig | None = None) -> Worker:
    return Worker(queue, None, {}, None, config=config or WorkerConfig())  # type: ignore[arg-type]


def test_the_worker_follows_a_queue_with_the_capabilities() -> None:
    assert isinstance(SqsLikeQueue(), providers.RedeliveryLimit | providers.LongPollLimit)
    worker = _worker(SqsLikeQueue(), WorkerConfig(wait_seconds=20.0))
    assert (worker.max_attempts, worker.receive_wait) == (3, 2.0)


def test_the_worker_falls_back_for_a_queue_without() -> None:
    assert not isinstance(PlainQueue(), providers.RedeliveryLimit)
    worker = _worker(PlainQueue(), WorkerConfig(wait_seconds=7.0))
    assert (worker.max_attempts, worker.receive_wait) == (5, 7.0)


class LanedQueue:
    """A JobLanes queue (the local queue, SQS with its long-jobs queue), or one that says it
    keeps one lane after all (SQS without it)."""

    def __init__(self, apart: bool) -> None:
        self.lanes_apart = apart

    async def enqueue(self, job_id: str, *, lane: str = "short") -> None: ...

    async def receive(self, *, wait_seconds: float, lane: str = "short") -> None: ...


def test_the_worker_runs_a_slot_per_lane_of_a_queue_that_keeps_lanes_apart() -> None:
    assert isinstance(LanedQueue(True), providers.JobLanes)
    config = WorkerConfig(short_slots=2, long_slots=1)
    assert _worker(LanedQueue(True), config).slots() == [("short", 2), ("long", 1)]
    short_only = WorkerConfig(long_slots=0)
    assert _worker(LanedQueue(True), short_only).slots() == [("short", 1)]


def test_a_queue_without_lanes_is_served_by_the_long_slots_taking_every_job() -> None:
    assert providers.job_lanes(PlainQueue()) is providers.job_lanes(LanedQueue(False)) is None
    config = WorkerConfig(short_slots=3, long_slots=2)
    assert _worker(PlainQueue(), config).slots() == [(None, 2)]
    assert _worker(LanedQueue(False), config).slots() == [(None, 2)]
    assert _worker(PlainQueue(), WorkerConfig(long_slots=0)).slots() == [(None, 1)]


def test_browser_origins_only_from_a_storage_that_declares_them() -> None:
    class Minio:
        browser_origins = ("http://127.0.0.1:9000",)

    assert _browser_origins(Minio()) == ("http://127.0.0.1:9000",)
    assert _browser_origins(PlainQueue()) == ()


@pytest.mark.parametrize("name", sorted(CAPABILITIES))
def test_each_capability_is_public_and_in_the_guides_table(name: str) -> None:
    protocol = getattr(providers, name)
    assert name in providers.__all__
    members = {m for m in vars(protocol) if not m.startswith("_")} - {"_is_protocol"}
    assert set(CAPABILITIES[name]) <= members, members
    text = GUIDE.read_text()
    table = text[text.index("### Optional capabilities") :]
    [row] = [line for line in table.splitlines() if line.startswith(f"| `{name}` |")]
    for member in CAPABILITIES[name]:
        assert re.search(rf"`(async )?{member}\b", row), (name, member, row)
