"""The APOD API failing: when the import is asked for (502, no job, nothing stored), and while
the import job downloads (the entry counts as failed, nothing half-stored). Both recover
without a restart once the upstream answers again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from faults_support import assert_nothing_lost, job_count
from salon.testing.fixtures import RunningApp, running_app
from salon_nasa_apod.testing import Canned, FakeApodServer

DAY = "2024-03-01"


@pytest.fixture
def fake() -> AsyncIterator[FakeApodServer]:
    with FakeApodServer() as server:
        yield server


@pytest.fixture
async def apod_app(tmp_path: Path, fake: FakeApodServer) -> AsyncIterator[RunningApp]:
    env = {
        "SALON_APOD_API_KEY": fake.api_key,
        "SALON_APOD_BASE_URL": fake.base_url,
        "SALON_APOD_BACKOFF": "0",
        "SALON_APOD_MAX_RETRIES": "1",
    }
    async with running_app(tmp_path / "data", env=env) as app:
        yield app


async def finished(app: RunningApp, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if body["status"] in ("succeeded", "failed"):
            return dict(body)
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {body}")


async def test_upstream_down_at_import_is_502_and_nothing_is_queued(
    apod_app: RunningApp, fake: FakeApodServer
) -> None:
    headers = await apod_app.login()
    fake.script.extend([Canned(503, {"msg": "maintenance"})] * 4)
    response = await apod_app.client.post(
        "/api/sources/apod/import", json={"date": DAY}, headers=headers
    )
    assert response.status_code == 502, response.text
    assert fake.api_key not in response.text
    assert await job_count(apod_app) == 0
    await assert_nothing_lost(apod_app, images=0)
    fake.script.clear()
    again = await apod_app.client.post(
        "/api/sources/apod/import", json={"date": DAY}, headers=headers
    )
    assert again.status_code == 202, again.text
    job = await finished(apod_app, again.json()["job_id"], headers)
    assert job["status"] == "succeeded", job
    await assert_nothing_lost(apod_app, images=1)


async def test_broken_download_stores_nothing_then_reimports(
    apod_app: RunningApp, fake: FakeApodServer
) -> None:
    headers = await apod_app.login()
    good = fake.image(f"{DAY}-hd")
    fake.images[f"{DAY}-hd"] = good[: len(good) // 3]  # upstream served a cut-off image
    response = await apod_app.client.post(
        "/api/sources/apod/import", json={"date": DAY}, headers=headers
    )
    assert response.status_code == 202, response.text
    job = await finished(apod_app, response.json()["job_id"], headers)
    assert job["status"] in ("succeeded", "failed"), job
    await assert_nothing_lost(apod_app, images=0)
    listing = (await apod_app.client.get("/api/images", headers=headers)).json()
    assert listing["items"] == []

    fake.images[f"{DAY}-hd"] = good
    again = await apod_app.client.post(
        "/api/sources/apod/import", json={"date": DAY}, headers=headers
    )
    job = await finished(apod_app, again.json()["job_id"], headers)
    assert job["status"] == "succeeded", job
    await assert_nothing_lost(apod_app, images=1)
