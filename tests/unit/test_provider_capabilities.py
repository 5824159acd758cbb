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
