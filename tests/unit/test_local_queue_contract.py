"""The JobQueue contract on the built-in database queue: SQLite always, PostgreSQL when
SALON_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from salon.db.models import QueueMessage, metadata
from salon.defaults.local_queue import LocalQueue
from salon.runtime import make_engine
from salon.testing.contracts.queue import JobQueueContract
from salon.testing.fixtures import postgres_database
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

VISIBILITY_TIMEOUT = 2


async def _prepared(engine: AsyncEngine) -> async_sessionmaker:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(delete(QueueMessage))
    return async_sessionmaker(engine, expire_on_commit=False)


class TestLocalQueueSqlite(JobQueueContract):
    @pytest.fixture
    async def job_queue(self, tmp_path: Path) -> AsyncIterator[LocalQueue]:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}")
        queue = LocalQueue(await _prepared(engine), visibility_timeout=VISIBILITY_TIMEOUT)
        yield queue
        await queue.close()
        await engine.dispose()

    @pytest.fixture
    async def unavailable_job_queue(self, tmp_path: Path) -> AsyncIterator[LocalQueue]:
        # A database file in a folder that does not exist cannot be opened.
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'queue.db'}")
        queue = LocalQueue(async_sessionmaker(engine), visibility_timeout=VISIBILITY_TIMEOUT)
        yield queue
        await engine.dispose()


@pytest.mark.postgres
class TestLocalQueuePostgres(JobQueueContract):
    @pytest.fixture
    async def job_queue(self) -> AsyncIterator[LocalQueue]:
        admin = os.environ.get("SALON_TEST_POSTGRES_URL")
        if not admin:
            pytest.skip("SALON_TEST_POSTGRES_URL is not set: PostgreSQL queue tests not run")
        # A database of its own: the admin URL's database is not ours to create tables in.
        async with postgres_database(admin) as url:
            engine = make_engine(url)
            queue = LocalQueue(await _prepared(engine), visibility_timeout=VISIBILITY_TIMEOUT)
            yield queue
            await queue.close()
            await engine.dispose()
