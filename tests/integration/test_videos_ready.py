"""ffmpeg's presence as the app reports it: /ready names a missing ffmpeg, and a video job made
without one fails at once with the same clear reason instead of crashing mid-render."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import salon_ffmpeg_video
from salon.testing.fixtures import RunningApp, sample_jpeg
from salon_ffmpeg_video import RenderOptions, VideoRenderer


async def test_ready_passes_with_the_bundled_ffmpeg(salon_app: RunningApp) -> None:
    response = await salon_app.client.get("/ready")
    assert response.status_code == 200, response.text
    assert "jobs:video" not in response.json()["checks"]
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
    reason = response.json()["checks"]["jobs:video"]
    assert reason.startswith("unavailable: ffmpeg not found")
    assert "imageio-ffmpeg" in reason

    headers = await salon_app.login()
    image = await salon_app.upload(headers, sample_jpeg(320, 240))
    created = await salon_app.client.post(
        "/api/videos", json={"image_ids": [image.json()["id"]]}, headers=headers
    )
    assert created.status_code == 202
    for _ in range(300):
        job = (
            await salon_app.client.get(f"/api/jobs/{created.json()['job_id']}", headers=headers)
        ).json()
        if job["status"] == "failed":
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "failed", job
    assert job["error"].startswith("ffmpeg not found")
