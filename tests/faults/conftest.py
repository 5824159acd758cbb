"""Fault-injection suite: each test breaks one part (storage writes and reads, the local disk,
S3, the database, the queue, the APOD API), checks the request fails cleanly, that nothing was
lost or left behind (``salon.doctor.diagnose`` is healthy), and that the service recovers
without a restart once the part is back.

The worker killed mid-job (SIGKILL, SIGTERM with and without grace) is covered by
tests/integration/test_worker_crash.py, and on SQS by plugins/aws_queue; not repeated here.

The test modules import their helpers from faults_support.py, beside this file (pytest runs
with --import-mode=importlib, which puts no test folder on sys.path).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from faults_support import FaultPlugin
from salon.testing.fixtures import RunningApp, running_app


@pytest.fixture
def fault_plugin() -> FaultPlugin:
    return FaultPlugin()


@pytest.fixture
async def flaky_app(tmp_path: Path, fault_plugin: FaultPlugin) -> AsyncIterator[RunningApp]:
    """The app on ``flaky`` storage (the local backend behind an on-demand failure switch)."""
    # Embedded (jobs and renditions made here): an upload's ?wait=true meets the faults.
    env = {"SALON_STORAGE": "flaky"}
    async with running_app(tmp_path / "data", plugins=[fault_plugin], env=env) as app:
        yield app
