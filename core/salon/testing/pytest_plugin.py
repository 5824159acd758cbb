"""Registered as a pytest plugin (entry point ``pytest11``): the fixtures below are available
to the core's tests and to every plugin's tests without a conftest.

- ``salon_database``: a database URL; parametrize it indirectly with ``["sqlite", "postgres"]``
  to run a test on both. PostgreSQL needs ``SALON_TEST_POSTGRES_URL`` (an admin URL such as
  ``postgresql+asyncpg://salon:salon@127.0.0.1/postgres``) and skips, saying so, without it.
- ``salon_app``: a running app on embedded defaults (see ``salon.testing.fixtures``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite"])
async def salon_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
        return
    admin = os.environ.get("SALON_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip(
            "PostgreSQL run skipped: SALON_TEST_POSTGRES_URL is not set (`make test` sets it to "
            "a cluster of its own; that needs initdb: apt-get install -y postgresql)"
        )
    from salon.testing.fixtures import postgres_database

    async with postgres_database(admin) as url:
        yield url


@pytest.fixture
async def salon_app(tmp_path: Path, salon_database: str) -> AsyncIterator[object]:
    from salon.testing.fixtures import running_app

    async with running_app(tmp_path / "data", database_url=salon_database) as app:
        yield app


# Shared session fixture: one LocalStack for every plugin's tests (started when first needed).
from salon.testing.localstack import localstack_endpoint  # noqa: E402, F401
