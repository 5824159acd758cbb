"""PostgreSQL going away and coming back, with the app running.

- every connection the app holds is killed (``pg_terminate_backend``): the next request
  succeeds without a restart (a read that meets a dead connection runs again on a new one);
- the database refuses connections for a while: requests answer 503, not a 500 or a hang,
  and the service is back as soon as the database is;
- the database is cut in the middle of an upload (after the original is stored, before the
  row is committed): the upload fails cleanly and ``salon doctor`` finds and repairs what it
  left.

Skips, saying so, without ``SALON_TEST_POSTGRES_URL`` (``bash .ci/postgres-setup.sh``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from faults_support import (
    FaultPlugin,
    assert_nothing_lost,
    distinct_jpeg,
    image_count,
    on_app_loop,
)
from salon.db.models import Image as ImageRow
from salon.doctor import diagnose
from salon.domain.system.services import readiness
from salon.testing.fixtures import RunningApp, postgres_database, running_app
from sqlalchemy import select


@dataclass
class Database:
    url: str
    admin: str

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[1]

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin.replace("postgresql+asyncpg://", "postgresql://"))

    async def kill_connections(self) -> int:
        conn = await self._admin()
        try:
            rows = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                self.name,
            )
        finally:
            await conn.close()
        return sum(1 for row in rows if row[0])

    async def allow_connections(self, allowed: bool) -> None:
        conn = await self._admin()
        try:
            value = "true" if allowed else "false"
            await conn.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {value}')
        finally:
            await conn.close()


@pytest.fixture
async def database() -> AsyncIterator[Database]:
    admin = os.environ.get("SALON_TEST_POSTGRES_URL")
    if not admin:
        pytest.skip("PostgreSQL fault tests skipped: SALON_TEST_POSTGRES_URL is not set")
    async with postgres_database(admin) as url:
        db = Database(url, admin)
        try:
            yield db
        finally:
            await db.allow_connections(True)


@pytest.fixture
async def pg_app(
    tmp_path: Path, database: Database, fault_plugin: FaultPlugin
) -> AsyncIterator[RunningApp]:
    # Embedded (jobs and renditions made here): an upload's ?wait=true meets the faults.
    env = {"SALON_STORAGE": "flaky"}
    async with running_app(
        tmp_path / "data", plugins=[fault_plugin], env=env, database_url=database.url
    ) as app:
        yield app


async def test_killed_connections_are_replaced_without_restart(
    pg_app: RunningApp, database: Database
) -> None:
    headers = await pg_app.login()
    assert (await pg_app.upload(headers, distinct_jpeg())).status_code == 201
    assert await database.kill_connections() >= 1
    listing = await pg_app.client.get("/api/images", headers=headers)
    assert listing.status_code == 200, listing.text
    assert len(listing.json()["items"]) == 1
    # No pre-ping: a read that meets a dead connection runs once more (salon.request_middleware),
    # on any route, as one answer to the client.
    assert await database.kill_connections() >= 1
    me = await pg_app.client.get("/api/me", headers=headers)
    assert me.status_code == 200, me.text
    assert await database.kill_connections() >= 1
    albums = await pg_app.client.get("/api/albums", headers=headers)
    assert albums.status_code == 200, albums.text
    assert (await pg_app.upload(headers, distinct_jpeg())).status_code == 201
    assert (await pg_app.client.get("/ready")).status_code == 200
    await assert_nothing_lost(pg_app, images=2)


async def test_outage_answers_503_then_recovers(pg_app: RunningApp, database: Database) -> None:
    headers = await pg_app.login()
    assert (await pg_app.upload(headers, distinct_jpeg())).status_code == 201
    await database.allow_connections(False)
    await database.kill_connections()
    try:
        for response in (
            await pg_app.client.get("/api/images", headers=headers),
            await pg_app.upload(headers, distinct_jpeg()),
        ):
            assert response.status_code == 503, response.text
            assert response.json()["detail"] == "the database is unavailable; try again shortly"
        ready = await pg_app.client.get("/ready")
        assert ready.status_code == 503
        checks = await on_app_loop(pg_app, readiness, pg_app.runtime)
        assert checks["database"] == "unavailable"
    finally:
        await database.allow_connections(True)
    listing = await pg_app.client.get("/api/images", headers=headers)
    assert listing.status_code == 200 and len(listing.json()["items"]) == 1
    assert (await pg_app.upload(headers, distinct_jpeg())).status_code == 201
    await assert_nothing_lost(pg_app, images=2)


async def test_cut_mid_upload_fails_cleanly_and_doctor_repairs(
    pg_app: RunningApp, database: Database, fault_plugin: FaultPlugin
) -> None:
    headers = await pg_app.login()

    async def cut() -> None:
        await database.allow_connections(False)
        await database.kill_connections()

    fault_plugin.switch.reset()
    # The original is stored and the image recorded "processing"; the renditions are not.
    fault_plugin.switch.on_put[2] = cut
    try:
        response = await pg_app.upload(headers, distinct_jpeg())
    finally:
        await database.allow_connections(True)
    assert response.status_code == 503, response.text
    # The cleanup could not reach the database either: the row stays "processing", which is
    # what the worker's sweep takes up (run here at once, on the app's loop).
    left = await image_count(pg_app)
    assert left in (0, 1)
    if left:
        renditions = pg_app.runtime.services.renditions

        async def sweep_now() -> list[str]:
            async with pg_app.runtime.session_maker() as session:
                ids = list(await session.scalars(select(ImageRow.id)))
            return [await renditions.process(image_id) for image_id in ids]

        assert await on_app_loop(pg_app, sweep_now) == ["ready"]
    report = await on_app_loop(pg_app, lambda: diagnose(pg_app.runtime, repair=True))
    # Whatever the failed upload could not remove itself is an orphan the doctor removes.
    assert not report.missing_originals and not report.missing_renditions
    await assert_nothing_lost(pg_app, images=left)
    assert (await pg_app.upload(headers, distinct_jpeg())).status_code == 201
    await assert_nothing_lost(pg_app, images=left + 1)
