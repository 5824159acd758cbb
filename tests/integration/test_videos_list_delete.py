"""``GET /api/videos`` and ``DELETE /api/videos/{id}`` through the real app, its queue, worker
and the ffmpeg plugin: keyset pages newest first, only the caller's, and a delete that leaves
no row, job or stored object behind; a queued video is cancelled, a running one answers 409."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from salon.db.models import Job, Video
from salon.domain.videos.services import output_key
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


@asynccontextmanager
async def database(url: str) -> AsyncIterator[AsyncSession]:
    """A session of our own: the app's engine lives on the test client's event loop."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            yield session
    finally:
        await engine.dispose()


async def count(url: str, model: Any) -> int:
    async with database(url) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def upload_photo(app: RunningApp, headers: dict[str, str]) -> str:
    response = await app.upload(headers, sample_jpeg(320, 240, (10, 120, 200)))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def wait_for_job(app: RunningApp, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job: dict[str, Any] = (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


SMALL = {"seconds_per_image": 0.5, "transition": "none", "width": 160, "height": 160}


async def make_video(app: RunningApp, headers: dict[str, str], image_id: str, title: str) -> str:
    body = {"image_ids": [image_id], "title": title, **SMALL}
    created = await app.client.post("/api/videos", json=body, headers=headers)
    assert created.status_code == 202, created.text
    job = await wait_for_job(app, headers, created.json()["job_id"])
    assert job["status"] == "succeeded", job
    return str(created.json()["video_id"])


async def stored_under(app: RunningApp, prefix: str) -> list[str]:
    return [info.key async for info in app.runtime.storage.list(prefix)]


async def test_videos_are_listed_newest_first_and_deleted_with_their_files(
    salon_app: RunningApp, salon_database: str
) -> None:
    app = salon_app
    owner = await app.login()
    image_id = await upload_photo(app, owner)
    made = [await make_video(app, owner, image_id, f"take {n}") for n in range(3)]

    first = await app.client.get("/api/videos", params={"limit": 2}, headers=owner)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [v["id"] for v in page["items"]] == [made[2], made[1]]
    assert page["next_cursor"]
    second = await app.client.get(
        "/api/videos", params={"limit": 2, "cursor": page["next_cursor"]}, headers=owner
    )
    assert [v["id"] for v in second.json()["items"]] == [made[0]]
    assert second.json()["next_cursor"] is None
    newest = page["items"][0]
    assert newest["status"] == "succeeded"
    assert newest["title"] == "take 2"
    assert newest["image_count"] == 1
    assert newest["created_at"]
    assert abs(newest["duration"] - 1.0) <= 0.1  # title card + one photo
    assert newest["url"] == f"/api/videos/{made[2]}/file"
    played = await app.client.get(newest["url"], headers=owner)
    assert played.status_code == 200 and played.headers["content-type"] == "video/mp4"

    bad = await app.client.get("/api/videos", params={"cursor": "not-a-cursor"}, headers=owner)
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]
    assert (
        await app.client.get("/api/videos", params={"limit": 0}, headers=owner)
    ).status_code == 400

    # Another user lists nothing and cannot delete; the anonymous are asked to sign in.
    other = await app.login()
    assert (await app.client.get("/api/videos", headers=other)).json() == {
        "items": [],
        "next_cursor": None,
    }
    target = made[1]
    owner_id = (await app.client.get("/api/me", headers=owner)).json()["id"]
    prefix = output_key(uuid.UUID(owner_id), uuid.UUID(target))
    assert prefix in await stored_under(app, prefix)
    stranger = await app.client.delete(f"/api/videos/{target}", headers=other)
    assert stranger.status_code == 404
    assert (await app.client.delete(f"/api/videos/{target}")).status_code == 401
    assert (await app.client.get("/api/videos")).status_code == 401
    assert prefix in await stored_under(app, prefix)

    deleted = await app.client.delete(f"/api/videos/{target}", headers=owner)
    assert deleted.status_code == 204, deleted.text
    assert await stored_under(app, prefix) == []  # the MP4 and the handler's result file
    for path in (f"/api/videos/{target}", f"/api/videos/{target}/file"):
        assert (await app.client.get(path, headers=owner)).status_code == 404
    listed = (await app.client.get("/api/videos", headers=owner)).json()["items"]
    assert [v["id"] for v in listed] == [made[2], made[0]]
    assert (await app.client.delete(f"/api/videos/{target}", headers=owner)).status_code == 404
    assert await count(salon_database, Video) == 2
    assert await count(salon_database, Job) == 2  # the other two videos' jobs
    job = await app.client.get(f"/api/jobs/{page['items'][1]['job_id']}", headers=owner)
    assert job.status_code == 404
    # The other videos' files are untouched.
    assert (await app.client.get(f"/api/videos/{made[0]}/file", headers=owner)).status_code == 200


async def test_a_queued_video_is_cancelled_and_a_running_one_is_kept(
    tmp_path: Path, salon_database: str
) -> None:
    env = {"SALON_INPROCESS_WORKER": "false"}  # jobs stay queued until the test moves them
    async with running_app(tmp_path / "data", env=env, database_url=salon_database) as app:
        headers = await app.login()
        image_id = await upload_photo(app, headers)
        ids = []
        for _ in range(2):
            created = await app.client.post(
                "/api/videos", json={"image_ids": [image_id], **SMALL}, headers=headers
            )
            assert created.status_code == 202, created.text
            ids.append(created.json())
        listed = (await app.client.get("/api/videos", headers=headers)).json()["items"]
        assert [(v["id"], v["status"], v["url"]) for v in listed] == [
            (ids[1]["video_id"], "queued", None),
            (ids[0]["video_id"], "queued", None),
        ]

        async with database(salon_database) as session:
            await session.execute(
                update(Job).where(Job.id == uuid.UUID(ids[1]["job_id"])).values(status="running")
            )
            await session.commit()
        busy = await app.client.delete(f"/api/videos/{ids[1]['video_id']}", headers=headers)
        assert busy.status_code == 409, busy.text
        assert "being made" in busy.json()["detail"]
        still = await app.client.get(f"/api/videos/{ids[1]['video_id']}", headers=headers)
        assert still.status_code == 200 and still.json()["status"] == "running"

        gone = await app.client.delete(f"/api/videos/{ids[0]['video_id']}", headers=headers)
        assert gone.status_code == 204, gone.text
        job = await app.client.get(f"/api/jobs/{ids[0]['job_id']}", headers=headers)
        assert job.status_code == 404  # the worker that receives its message finds nothing
        async with database(salon_database) as session:
            assert await session.get(Video, uuid.UUID(ids[0]["video_id"])) is None
            assert await session.get(Video, uuid.UUID(ids[1]["video_id"])) is not None
