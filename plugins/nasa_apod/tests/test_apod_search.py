"""Imported APOD pictures are found by search (issue 20.6): a word of the entry's explanation,
its title, its copyright holder, and the source's album; on the embedded defaults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from salon.testing.fixtures import RunningApp, running_app
from salon_nasa_apod.testing import FakeApodServer


@pytest.fixture
async def app(fake: FakeApodServer, tmp_path: Path) -> AsyncIterator[RunningApp]:
    env = {"SALON_APOD_API_KEY": fake.api_key, "SALON_APOD_BASE_URL": fake.base_url}
    async with running_app(tmp_path / "data", env=env) as running:
        yield running


async def titles(app: RunningApp, headers: dict[str, str], q: str) -> list[str]:
    response = await app.client.get("/api/images", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(item["title"] for item in response.json()["items"])


async def test_apod_text_is_searchable(app: RunningApp, fake: FakeApodServer) -> None:
    headers = await app.login()
    response = await app.client.post(
        "/api/sources/apod/import",
        json={"start_date": "2024-03-01", "end_date": "2024-03-04"},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    job: Any = None
    for _ in range(300):
        job = (
            await app.client.get(f"/api/jobs/{response.json()['job_id']}", headers=headers)
        ).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    both = ["Fake Nebula 2024-03-01", "Fake Nebula 2024-03-04"]
    # The fake explanation is "What the fake sky showed on <date>."
    assert await titles(app, headers, "fake sky showed") == both
    assert await titles(app, headers, "sky 2024 03 04") == both[1:]
    assert await titles(app, headers, "nebula") == both
    # 2024-03-04 is public domain: no copyright holder to find.
    assert await titles(app, headers, "Jane Astronomer") == both[:1]
    assert await titles(app, headers, "apod") == both  # the source's album
    assert await titles(app, headers, "galaxy") == []
