"""Start-up, schema and health suite: ``salon serve`` and ``salon db`` as subprocesses.

The test modules import their helpers from startup_support.py, beside this file (pytest runs
with --import-mode=importlib, which puts no test folder on sys.path).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a SQLite file in the data folder the test uses, or a new PostgreSQL
    database (dropped afterwards) on the server SALON_TEST_POSTGRES_URL names."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'salon.db'}"
        return
    admin = os.environ.get("SALON_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("PostgreSQL run skipped: SALON_TEST_POSTGRES_URL is not set")
    from salon.testing.fixtures import postgres_database

    async with postgres_database(admin) as url:
        yield url
