"""The APOD source behind Salon's HTTP API: browse, bad queries, upstream failures, import as a
job, and favorite an imported picture (the issue's "done when"), on the embedded defaults."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from salon.testing.fixtures import RunningApp, running_app
from salon_nasa_apod.testing import Canned, FakeApodServer

RANGE = {"start_date": "2024-03-01", "end_date": "2024-03-05"}


@pytest.fixture
async def app(fake: FakeApodServer, tmp_path: Path) -> AsyncIterator[RunningApp]:
    env = {
        "SALON_APOD_API_KEY": fake.api_key,
        "SALON_APOD_BASE_URL": fake.base_url,
        "SALON_APOD_BACKOFF": "0",
        "SALON_APOD_MAX_RETRIES": "1",
    }
    async with running_app(tmp_path / "data", env=env) as running:
        yield running


async def test_browse_entries(app: RunningApp, fake: FakeApodServer) -> None:
    headers = await app.login()
    sources = (await app.client.get("/api/sources", headers=headers)).json()
    assert {"name": "apod", "title": "APOD"} in sources
    response = await app.client.get("/api/sources/apod/entries", params=RANGE, headers=headers)
    assert response.status_code == 200, response.text
    entries = response.json()
    assert [e["external_id"] for e in entries] == [
        "2024-03-01",
        "2024-03-02",
        "2024-03-04",
        "2024-03-05",
    ]
    assert [e["importable"] for e in entries] == [True, False, True, False]
    assert entries[2]["metadata"]["public_domain"] is True
    again = await app.client.get("/api/sources/apod/entries", params=RANGE, headers=headers)
    assert again.json() == entries
    assert len(fake.api_requests) == 1


@pytest.mark.parametrize(
    "params",
    [{"date": "1990-01-01"}, {"count": "3", "date": "2024-03-01"}, {"count": "500"}],
)
async def test_bad_query_is_a_400(
    app: RunningApp, fake: FakeApodServer, params: dict[str, str]
) -> None:
    headers = await app.login()
    response = await app.client.get("/api/sources/apod/entries", params=params, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert fake.api_requests == []


async def test_upstream_failure_is_a_5xx_without_the_key(
    app: RunningApp, fake: FakeApodServer
) -> None:
    headers = await app.login()
    fake.script.extend([Canned(500, {"msg": f"boom {fake.api_key}"})] * 2)
    response = await app.client.get(
        "/api/sources/apod/entries", params={"date": "2024-03-01"}, headers=headers
    )
    assert response.status_code in (502, 503), response.text
    assert fake.api_key not in response.text


async def test_unreachable_nasa_is_said_so(fake: FakeApodServer, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "SALON_APOD_API_KEY": fake.api_key,
        "SALON_APOD_BASE_URL": f"http://127.0.0.1:{port}/planetary/apod",
        "SALON_APOD_BACKOFF": "0",
    }
    async with running_app(tmp_path / "data", env=env) as app:
        headers = await app.login()
        response = await app.client.get(
            "/api/sources/apod/entries", params={"date": "2024-03-01"}, headers=headers
        )
    assert response.status_code == 502, response.text
    assert response.json()["detail"] == "Could not reach NASA's APOD service; try again later"
    assert str(port) not in response.text  # the host and port stay in the log


async def test_import_as_a_job_then_favorite(app: RunningApp, fake: FakeApodServer) -> None:
    headers = await app.login()
    response = await app.client.post("/api/sources/apod/import", json=RANGE, headers=headers)
    assert response.status_code == 202, response.text
    job = await _finished(app, response.json()["job_id"], headers)
    assert job["status"] == "succeeded", job
    images = (await app.client.get("/api/images", headers=headers)).json()["items"]
    assert sorted(i["title"] for i in images) == [
        "Fake Nebula 2024-03-01",
        "Fake Nebula 2024-03-04",
    ]
    favorite = await app.client.put(f"/api/images/{images[0]['id']}/favorite", headers=headers)
    assert favorite.status_code in (200, 204), favorite.text
    favorites = await app.client.get("/api/images", params={"favorite": "true"}, headers=headers)
    assert [i["id"] for i in favorites.json()["items"]] == [images[0]["id"]]
    # Importing the same range again adds nothing and costs no API request.
    api_calls = len(fake.api_requests)
    response = await app.client.post("/api/sources/apod/import", json=RANGE, headers=headers)
    assert (await _finished(app, response.json()["job_id"], headers))["status"] == "succeeded"
    assert len((await app.client.get("/api/images", headers=headers)).json()["items"]) == 2
    assert len(fake.api_requests) == api_calls


async def _finished(app: RunningApp, job_id: str, headers: dict[str, str]) -> Any:
    for _ in range(300):
        job = (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {job}")
