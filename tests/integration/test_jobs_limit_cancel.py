"""Issue 17, attack report 2 item 2: one account queued 40 long videos in a row, and a video
being made could not be stopped. Now each user has at most SALON_MAX_JOBS_PER_USER jobs queued
or running (429 with Retry-After), and the owner cancels a queued or running job: a running
render's ffmpeg (the real one) stops within seconds and its scratch folder is removed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite"], indirect=True)

# Minutes of ffmpeg at 1080p if nothing stopped it; the test cancels it within seconds.
LONG = {"seconds_per_image": 30, "width": 1920, "height": 1080}


def _rendering_ffmpeg() -> list[int]:
    """This process's ffmpeg children that render a video (the in-process worker's)."""
    found = []
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if (
                stat[1] == me
                and stat[0] not in "ZX"
                and b"video.mp4" in (entry / "cmdline").read_bytes()
            ):
                found.append(int(entry.name))
    return found


async def _job(app: RunningApp, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    answer = await app.client.get(f"/api/jobs/{job_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def _until(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"not within {seconds:.0f} s: {what}")


async def test_jobs_per_user_are_limited_and_a_running_video_can_be_cancelled(
    salon_database: str, tmp_path: Path
) -> None:
    async with running_app(tmp_path / "data", database_url=salon_database) as app:
        headers, other = await app.login(), await app.login()
        ids = []
        for shade in (20, 120):
            sent = await app.upload(headers, sample_jpeg(640, 480, (shade, 90, 160)))
            assert sent.status_code == 201, sent.text
            ids.append(sent.json()["id"])
        video = {"image_ids": ids, **LONG}
        jobs = []
        for _ in range(4):  # the default SALON_MAX_JOBS_PER_USER
            created = await app.client.post("/api/videos", json=video, headers=headers)
            assert created.status_code == 202, created.text
            jobs.append(created.json())
        refused = await app.client.post("/api/videos", json=video, headers=headers)
        assert refused.status_code == 429, refused.text
        assert "4 jobs queued or running" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) >= 1

        # The first one renders: cancel it while ffmpeg runs.
        first = jobs[0]["job_id"]

        async def rendering() -> bool:
            return bool(_rendering_ffmpeg())

        await _until(rendering, 60, "ffmpeg rendering the first video")
        renders = _rendering_ffmpeg()
        scratch = list(Path(tempfile.gettempdir()).glob(f"salon-video-{first}-*"))
        assert scratch, "no scratch folder for the running render"
        started = time.monotonic()
        cancelled = await app.client.post(f"/api/jobs/{first}/cancel", headers=headers)
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"

        async def stopped() -> bool:
            # That ffmpeg (the next queued video may start one of its own at once).
            return not set(renders) & set(_rendering_ffmpeg()) and not any(
                p.exists() for p in scratch
            )

        await _until(stopped, 10, "ffmpeg stopped and its scratch folder removed after cancel")
        print(f"cancel -> ffmpeg gone in {time.monotonic() - started:.1f} s")
        state = await app.client.get(f"/api/videos/{jobs[0]['video_id']}", headers=headers)
        assert state.json()["status"] == "failed"
        assert state.json()["error"] == "cancelled by its owner"

        # A cancelled job frees a place; a queued one is cancelled too and never runs.
        again = await app.client.post("/api/videos", json=video, headers=headers)
        assert again.status_code == 202, again.text
        for job in [*jobs[1:], again.json()]:
            gone = await app.client.post(f"/api/jobs/{job['job_id']}/cancel", headers=headers)
            assert gone.status_code == 200 and gone.json()["status"] == "cancelled", gone.text
        twice = await app.client.post(f"/api/jobs/{first}/cancel", headers=headers)
        assert twice.status_code == 200 and twice.json()["status"] == "cancelled"
        # Another user's job is not yours to cancel; their own videos are not held.
        assert (
            await app.client.post(f"/api/jobs/{first}/cancel", headers=other)
        ).status_code == 404
        await asyncio.sleep(2)  # the worker goes through the cancelled messages: none renders
        assert _rendering_ffmpeg() == []
        for job in jobs[1:]:
            assert (await _job(app, headers, job["job_id"]))["status"] == "cancelled"


async def test_a_finished_job_cannot_be_cancelled(salon_database: str, tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", database_url=salon_database) as app:
        headers = await app.login()
        sent = await app.upload(headers, sample_jpeg(320, 240, (9, 9, 9)))
        small = {
            "image_ids": [sent.json()["id"]],
            "seconds_per_image": 1,
            "width": 320,
            "height": 180,
        }
        created = (await app.client.post("/api/videos", json=small, headers=headers)).json()

        async def done() -> bool:
            job = await _job(app, headers, created["job_id"])
            return job["status"] in ("succeeded", "failed")

        await _until(done, 120, "a 1 s video made")
        late = await app.client.post(f"/api/jobs/{created['job_id']}/cancel", headers=headers)
        assert late.status_code == 409 and "already succeeded" in late.json()["detail"]


async def test_a_short_job_runs_while_a_video_renders(salon_database: str, tmp_path: Path) -> None:
    """Issue 17 item 11: the in-process worker's one long slot renders a video (real ffmpeg)
    and a second video waits for it; an ``image.renditions`` job queued after both finishes
    meanwhile, in the short slot (before lanes it waited for both videos: minutes)."""
    async with running_app(tmp_path / "data", database_url=salon_database) as app:
        headers = await app.login()
        me = (await app.client.get("/api/me", headers=headers)).json()["id"]
        ids = []
        for shade in (40, 140):
            sent = await app.upload(headers, sample_jpeg(640, 480, (shade, 60, 90)))
            assert sent.status_code == 201, sent.text
            ids.append(sent.json()["id"])
        videos = []
        for _ in range(2):
            created = await app.client.post(
                "/api/videos", json={"image_ids": ids, **LONG}, headers=headers
            )
            assert created.status_code == 202, created.text
            videos.append(created.json()["job_id"])

        async def rendering() -> bool:
            return bool(_rendering_ffmpeg())

        await _until(rendering, 60, "ffmpeg rendering the first video")
        salon = app.salon("salon")
        started = time.monotonic()
        short = await app.call(
            lambda: salon.queue.enqueue(
                "image.renditions", {"image_id": ids[0], "names": ["sm"]}, owner_id=me
            )
        )
        done = await app.finished_job(short, headers, seconds=30)
        waited = time.monotonic() - started
        assert done["status"] == "succeeded" and done["result"]["made"] == ["sm"], done
        states = [(await _job(app, headers, job))["status"] for job in videos]
        assert states == ["running", "queued"], states
        print(f"short job done in {waited:.1f} s while a video rendered")
        for job in videos:
            gone = await app.client.post(f"/api/jobs/{job}/cancel", headers=headers)
            assert gone.status_code == 200, gone.text

        async def stopped() -> bool:
            return not _rendering_ffmpeg()

        await _until(stopped, 10, "ffmpeg stopped after cancel")
