"""Fair scheduling in the local queue: owners take turns, so one user's queued jobs do not
delay another user's job behind all of them. Ordering only (no timing): SQLite always,
PostgreSQL when SALON_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from salon.db.migrate import upgrade
from salon.db.models import User
from salon.defaults.local_queue import LocalQueue
from salon.domain.jobs.services import create_job
from salon.runtime import make_engine
from salon.testing.fixtures import postgres_database
from sqlalchemy.ext.asyncio import async_sessionmaker


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
        return
    admin = os.environ.get("SALON_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("SALON_TEST_POSTGRES_URL is not set: PostgreSQL queue tests not run")
    async with postgres_database(admin) as url:
        yield url


@pytest.fixture
async def queue(database_url: str) -> AsyncIterator[LocalQueue]:
    upgrade(database_url)  # the migrations, so the group column is tested as deployed
    engine = make_engine(database_url)
    queue = LocalQueue(async_sessionmaker(engine, expire_on_commit=False), visibility_timeout=60)
    yield queue
    await queue.close()
    await engine.dispose()


async def _users(queue: LocalQueue, *names: str) -> list[User]:
    users = [User(provider="test", subject=name) for name in names]
    async with queue._session_maker() as session, session.begin():
        session.add_all(users)
    return users


async def _job(queue: LocalQueue, owner: User | None, name: str) -> str:
    job = await create_job(
        queue._session_maker, queue, kind="video", owner_id=owner and owner.id, payload={"n": name}
    )
    return str(job.id)


async def test_a_second_user_goes_before_the_first_users_backlog(queue: LocalQueue) -> None:
    alice, bob = await _users(queue, "alice", "bob")
    a1, a2, a3 = [await _job(queue, alice, f"a{i}") for i in (1, 2, 3)]
    b1 = await _job(queue, bob, "b1")  # queued last: FIFO would run it fourth

    first = await queue.receive(wait_seconds=0)
    assert first is not None and first.job_id == a1
    # While a1 runs, bob's only job goes before alice's second and third.
    second = await queue.receive(wait_seconds=0)
    assert second is not None and second.job_id == b1
    await queue.ack(first)
    await queue.ack(second)
    rest = [await queue.receive(wait_seconds=0) for _ in range(2)]
    assert [d.job_id for d in rest if d is not None] == [a2, a3]


async def test_owners_take_turns_one_job_at_a_time(queue: LocalQueue) -> None:
    """One worker, one job at a time (the in-process default): each finished job hands the
    turn to the owner with the fewest jobs ahead, oldest first among equals."""
    alice, bob, carol = await _users(queue, "alice", "bob", "carol")
    jobs = {
        await _job(queue, owner, name): name
        for owner, name in [
            (alice, "a1"),
            (alice, "a2"),
            (alice, "a3"),
            (bob, "b1"),
            (bob, "b2"),
            (carol, "c1"),
            (None, "system"),
        ]
    }
    order = []
    while (delivery := await queue.receive(wait_seconds=0)) is not None:
        order.append(jobs[delivery.job_id])
        await queue.ack(delivery)
    assert order == ["a1", "b1", "c1", "system", "a2", "b2", "a3"]
