"""Failures as clients see them: /ready names a missing ffmpeg, a video job made without one
fails at once with the same clear reason, and a render that keeps failing fails its video.

SQLite only: a job is failed after the worker's 5 attempts with backoff (about 30 s), which is
worth waiting for once, not once per database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import salon_ffmpeg_video
from salon.db.models import Image
from salon.domain.system.services import readiness
from salon.testing.fixtures import RunningApp, sample_jpeg
from salon_ffmpeg_video import RenderOptions, VideoRenderer
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool


async def test_ready_passes_with_the_bundled_ffmpeg(salon_app: RunningApp) -> None:
    response = await salon_app.client.get("/ready")
    assert response.status_code == 200, response.text
    # The details are for internal addresses only; the test client has none: ask directly.
    assert "jobs:video" not in await readiness(salon_app.runtime)
    assert "video" in salon_app.runtime.job_handlers


async def test_missing_ffmpeg_is_a_readiness_error_and_a_clear_job_failure(
    salon_app: RunningApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    absent = tmp_path / "no-such-ffmpeg"
    monkeypatch.setattr(
        salon_ffmpeg_video, "_renderer", VideoRenderer(RenderOptions(ffmpeg=str(absent)))
    )

    response = await salon_app.client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}  # no details to the public
    reason = (await readiness(salon_app.runtime))["jobs:video"]
    assert reason.startswith("unavailable: ffmpeg not found")
    assert "imageio-ffmpeg" in reason

    headers = await salon_app.login()
    image = await salon_app.upload(headers, sample_jpeg(320, 240))
    created = await salon_app.client.post(
        "/api/videos", json={"image_ids": [image.json()["id"]]}, headers=headers
    )
    assert created.status_code == 202
    # The first attempt fails at once with the reason, kept on the job while it is retried.
    job_url = f"/api/jobs/{created.json()['job_id']}"
    for _ in range(300):
        job = (await salon_app.client.get(job_url, headers=headers)).json()
        if job["error"]:
            break
        await asyncio.sleep(0.1)
    assert job["status"] in ("queued", "failed"), job
    assert job["error"].startswith("ffmpeg not found"), job


async def test_a_failed_render_fails_the_video_with_a_reason(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    image_id = await upload_photo(salon_app, headers)
    image = (await salon_app.client.get(f"/api/images/{image_id}", headers=headers)).json()
    assert image["urls"]["renditions"]["lg"]
    # The source the job will read disappears before the worker gets to it.
    async with database(salon_app) as session:
        row = await session.get(Image, uuid.UUID(image_id))
        assert row is not None
        keys = [r["key"] for r in row.renditions.values()] + [row.storage_key]
    for key in keys:
        await salon_app.runtime.storage.delete(key)

    created = await salon_app.client.post(
        "/api/videos", json={"image_ids": [image_id], "seconds_per_image": 0.5}, headers=headers
    )
    assert created.status_code == 202
    job = await wait_for_job(salon_app, headers, created.json()["job_id"], seconds=90)
    assert job["status"] == "failed"
    assert "missing" in job["error"]
    video = (
        await salon_app.client.get(f"/api/videos/{created.json()['video_id']}", headers=headers)
    ).json()
    assert video["status"] == "failed"
    assert video["url"] is None
    assert "missing" in video["error"]
    file = await salon_app.client.get(
        f"/api/videos/{created.json()['video_id']}/file", headers=headers
    )
    assert file.status_code == 404


async def wait_for_job(
    app: RunningApp, headers: dict[str, str], job_id: str, *, seconds: float
) -> dict[str, Any]:
    for _ in range(int(seconds * 10)):
        job = (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {seconds} s")


async def upload_photo(app: RunningApp, headers: dict[str, str]) -> str:
    response = await app.upload(headers, sample_jpeg(320, 240))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@asynccontextmanager
async def database(app: RunningApp) -> AsyncIterator[AsyncSession]:
    """A session of our own: the app's engine lives on the test client's event loop."""
    engine = create_async_engine(str(app.runtime.engine.url), poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            yield session
    finally:
        await engine.dispose()
