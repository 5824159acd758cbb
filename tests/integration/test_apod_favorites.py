"""APOD favorites in one step (issue 20.12), through the real app, its queue and worker, and the
APOD plugin against the fake NASA API: ``favorite: true`` on an import favorites the entry's
image, importing it only the first time (by external id); the entries listing tells each user
which entries are theirs and favorited; unfavoriting is the image's own route."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from salon.db.models import Image, Job, SourceImport
from salon.testing.fixtures import RunningApp, running_app
from salon_nasa_apod.testing import FakeApodServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

DAY = "2024-03-01"
RANGE = {"start_date": "2024-03-01", "end_date": "2024-03-05"}


@pytest.fixture
def fake() -> Iterator[FakeApodServer]:
    with FakeApodServer() as server:
        yield server
    assert server.errors == [], "the fake APOD server itself failed"


@pytest.fixture
async def app(
    fake: FakeApodServer, tmp_path: Path, salon_database: str
) -> AsyncIterator[RunningApp]:
    env = {
        "SALON_APOD_API_KEY": fake.api_key,
        "SALON_APOD_BASE_URL": fake.base_url,
        "SALON_APOD_BACKOFF": "0",
    }
    async with running_app(tmp_path / "data", env=env, database_url=salon_database) as running:
        yield running


async def star(app: RunningApp, headers: dict[str, str], **query: Any) -> dict[str, Any]:
    response = await app.client.post(
        "/api/sources/apod/import", json={**query, "favorite": True}, headers=headers
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    for _ in range(300):
        job: dict[str, Any] = (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            assert job["status"] == "succeeded", job
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


async def entries(app: RunningApp, headers: dict[str, str], **query: str) -> dict[str, Any]:
    response = await app.client.get("/api/sources/apod/entries", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return {e["external_id"]: e for e in response.json()}


async def rows(app: RunningApp, model: Any) -> int:
    # An engine of our own: the app's lives on the test client's event loop.
    engine = create_async_engine(app.runtime.core.database_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await engine.dispose()


async def test_a_star_imports_once_and_favorites(app: RunningApp) -> None:
    headers = await app.login()
    before = (await entries(app, headers, date=DAY))[DAY]
    assert (before["image_id"], before["favorite"]) == (None, False)

    job = await star(app, headers, date=DAY)
    assert job["result"]["imported"] == 1
    image_id = job["result"]["image_ids"][DAY]
    image = (await app.client.get(f"/api/images/{image_id}", headers=headers)).json()
    assert image["favorite"] is True
    shown = (await entries(app, headers, date=DAY))[DAY]
    assert (shown["image_id"], shown["favorite"]) == (image_id, True)

    # A second star on the same entry imports nothing, even two at the same moment.
    again = await asyncio.gather(star(app, headers, date=DAY), star(app, headers, date=DAY))
    assert [j["result"]["imported"] for j in again] == [0, 0]
    assert {j["result"]["image_ids"][DAY] for j in again} == {image_id}
    assert await rows(app, Image) == 1
    assert await rows(app, SourceImport) == 1

    # Un-starring is the image's own favorite route; the listing follows.
    off = await app.client.delete(f"/api/images/{image_id}/favorite", headers=headers)
    assert off.status_code == 200, off.text
    shown = (await entries(app, headers, date=DAY))[DAY]
    assert (shown["image_id"], shown["favorite"]) == (image_id, False)
    await star(app, headers, date=DAY)
    assert (await entries(app, headers, date=DAY))[DAY]["favorite"] is True
    assert await rows(app, Image) == 1

    # A trashed image is not shown as imported; starring it brings it back, still one image.
    trashed = await app.client.delete(f"/api/images/{image_id}", headers=headers)
    assert trashed.status_code == 204
    assert (await entries(app, headers, date=DAY))[DAY]["image_id"] is None
    job = await star(app, headers, date=DAY)
    assert job["result"]["image_ids"][DAY] == image_id
    listed = await app.client.get("/api/images", params={"favorite": "true"}, headers=headers)
    assert [i["id"] for i in listed.json()["items"]] == [image_id]
    assert await rows(app, Image) == 1

    # Another user sees the entry as not theirs, and a star of theirs is their own image.
    other = await app.login()
    theirs = (await entries(app, other, date=DAY))[DAY]
    assert (theirs["image_id"], theirs["favorite"]) == (None, False)
    job = await star(app, other, date=DAY)
    assert job["result"]["image_ids"][DAY] != image_id
    assert (await entries(app, headers, date=DAY))[DAY]["image_id"] == image_id


async def test_a_starred_range_favorites_only_its_images(app: RunningApp) -> None:
    headers = await app.login()
    job = await star(app, headers, **RANGE)
    result = job["result"]
    assert (result["imported"], result["not_images"]) == (2, 2)
    assert sorted(result["image_ids"]) == ["2024-03-01", "2024-03-04"]
    shown = await entries(app, headers, **RANGE)
    assert [e["favorite"] for e in shown.values()] == [True, False, True, False]
    assert shown["2024-03-02"]["image_id"] is None  # a video: nothing to import


async def test_a_favorite_that_is_not_a_boolean_is_refused(app: RunningApp) -> None:
    headers = await app.login()
    for value in ("yes", 1):
        response = await app.client.post(
            "/api/sources/apod/import", json={"date": DAY, "favorite": value}, headers=headers
        )
        assert response.status_code == 400, (value, response.text)
        assert "favorite" in response.json()["detail"]
    assert await rows(app, Job) == 0
    # Without favorite, an import favorites nothing.
    plain = await app.client.post("/api/sources/apod/import", json={"date": DAY}, headers=headers)
    assert plain.status_code == 202
    for _ in range(300):
        job = (await app.client.get(f"/api/jobs/{plain.json()['job_id']}", headers=headers)).json()
        if job["status"] == "succeeded":
            break
        await asyncio.sleep(0.1)
    assert (await entries(app, headers, date=DAY))[DAY]["favorite"] is False
