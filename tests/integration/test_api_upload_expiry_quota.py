"""Direct uploads run out and are cleaned up; each user has a storage quota. The real app
(SQLite and PostgreSQL), its local storage and its in-process worker."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from salon.db.models import Image, UploadIntent, Video
from salon.testing.fixtures import TEST_PASSWORD, RunningApp, running_app, sample_jpeg
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


async def _count(url: str, model: Any) -> int:
    async with database(url) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _expire(url: str, upload_id: str) -> None:
    async with database(url) as session, session.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(
            update(UploadIntent)
            .where(UploadIntent.id == uuid.UUID(upload_id))
            .values(expires_at=past)
        )


def _upload_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "media").rglob("*") if p.is_file() and "uploads" in p.parts]


async def _intent(app: RunningApp, headers: dict[str, str], data: bytes) -> Any:
    return await app.client.post(
        "/api/uploads",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)},
        headers=headers,
    )


async def _send(app: RunningApp, headers: dict[str, str], upload_id: str, data: bytes) -> Any:
    return await app.client.post(
        f"/api/uploads/{upload_id}/file",
        files={"file": ("a.jpg", data, "image/jpeg")},
        headers=headers,
    )


async def test_an_expired_upload_takes_no_file_and_does_not_complete(
    salon_app: RunningApp, salon_database: str
) -> None:
    headers = await salon_app.login()
    data = sample_jpeg(320, 240, (200, 10, 10))

    late = (await _intent(salon_app, headers, data)).json()["upload_id"]
    await _expire(salon_database, late)
    refused = await _send(salon_app, headers, late, data)
    assert refused.status_code == 410 and "expired" in refused.json()["detail"]

    sent = (await _intent(salon_app, headers, data)).json()["upload_id"]
    assert (await _send(salon_app, headers, sent, data)).status_code == 204
    assert _upload_files(salon_app.data_dir)
    await _expire(salon_database, sent)
    done = await salon_app.client.post(f"/api/uploads/{sent}/complete", headers=headers)
    assert done.status_code == 410 and "start a new one" in done.json()["detail"]

    # Nothing is left behind: no intent, no object, no image.
    assert await _count(salon_database, UploadIntent) == 0
    assert _upload_files(salon_app.data_dir) == []
    assert await _count(salon_database, Image) == 0
    again = await salon_app.client.post(f"/api/uploads/{sent}/complete", headers=headers)
    assert again.status_code == 404


async def test_the_worker_removes_abandoned_uploads(salon_database: str, tmp_path: Path) -> None:
    env = {"SALON_UPLOAD_CLEANUP_INTERVAL": "1", "SALON_INPROCESS_WORKER": "true"}
    async with running_app(tmp_path / "data", env=env, database_url=salon_database) as app:
        headers = await app.login()
        data = sample_jpeg(320, 240, (10, 200, 10))
        upload_id = (await _intent(app, headers, data)).json()["upload_id"]
        assert (await _send(app, headers, upload_id, data)).status_code == 204
        fresh = (await _intent(app, headers, data)).json()["upload_id"]
        await _expire(salon_database, upload_id)
        for _ in range(300):  # the worker's next round removes it; no timing is asserted
            if await _count(salon_database, UploadIntent) == 1:
                break
            await asyncio.sleep(0.1)
        async with database(salon_database) as session:
            left = [str(i) for i in await session.scalars(select(UploadIntent.id))]
        assert left == [fresh]  # the unexpired one stays
        assert _upload_files(app.data_dir) == []


async def test_storage_quota_refuses_uploads_beyond_it(salon_database: str, tmp_path: Path) -> None:
    first, second = sample_jpeg(320, 240, (1, 2, 3)), sample_jpeg(320, 240, (250, 2, 3))
    quota = len(first) + len(second) // 2
    env = {"SALON_STORAGE_QUOTA_BYTES": str(quota)}
    async with running_app(tmp_path / "data", env=env, database_url=salon_database) as app:
        headers = await app.login()
        other = await app.login()
        assert (await app.upload(headers, first)).status_code == 201
        over = await app.upload(headers, second)
        assert over.status_code == 413, over.text
        assert "storage quota exceeded" in over.json()["detail"]
        # The same bytes again are a duplicate, not new storage: still answered.
        assert (await app.upload(headers, first)).status_code in (200, 201)
        announced = await _intent(app, headers, second)
        assert announced.status_code == 413 and "quota" in announced.json()["detail"]
        # Each user has their own quota.
        assert (await app.upload(other, second)).status_code == 201
        assert await _count(salon_database, Image) == 2
        assert await _count(salon_database, UploadIntent) == 0
        # In-flight direct uploads count too: announcing fills the rest of the quota.
        small = sample_jpeg(64, 48, (9, 9, 9))
        assert len(first) + len(small) <= quota
        assert (await _intent(app, headers, small)).status_code == 201
        expected = 201 if len(first) + 2 * len(small) <= quota else 413
        assert (await _intent(app, headers, small)).status_code == expected
        extra = (quota - len(first)) // len(small) + 1  # surely more than fits
        answers = [(await _intent(app, headers, small)).status_code for _ in range(extra)]
        assert answers[-1] == 413


async def test_completion_promotes_the_upload_without_writing_it_again(
    salon_app: RunningApp, salon_database: str
) -> None:
    """Issue 16.6: local storage offers ``copy`` (a hard link), so completing a direct upload
    keeps the very file the upload wrote as the original (same inode), through a staging key
    that only the server writes; nothing stays under uploads/ or staging/."""
    headers = await salon_app.login()
    data = sample_jpeg(640, 480, (30, 90, 200))
    upload_id = (await _intent(salon_app, headers, data)).json()["upload_id"]
    assert (await _send(salon_app, headers, upload_id, data)).status_code == 204
    [uploaded] = _upload_files(salon_app.data_dir)
    inode = uploaded.stat().st_ino
    done = await salon_app.client.post(f"/api/uploads/{upload_id}/complete", headers=headers)
    assert done.status_code == 201, done.text
    async with database(salon_database) as session:
        image = await session.get(Image, uuid.UUID(done.json()["id"]))
    assert image is not None
    original = salon_app.data_dir / "media" / image.storage_key
    assert original.read_bytes() == data
    assert original.stat().st_ino == inode, "the original was written again, not promoted"
    media = salon_app.data_dir / "media"
    leftovers = [
        p for p in media.rglob("*") if p.is_file() and {"uploads", "staging"} & set(p.parts)
    ]
    assert leftovers == []


async def test_open_uploads_are_capped_and_the_default_quota_is_finite(
    salon_database: str, tmp_path: Path
) -> None:
    """Issue 17 (attack report 2, item 6): one account announced 300 uploads of 200 MiB (60 GB)
    and every one was accepted. Now the default quota (10 GiB) counts their declared sizes and
    at most SALON_MAX_OPEN_UPLOADS_PER_USER may be open at once (429 with Retry-After)."""
    big = 200 * 1024 * 1024

    async def announce(app: RunningApp, headers: dict[str, str], size: int) -> Any:
        body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": size}
        return await app.client.post("/api/uploads", json=body, headers=headers)

    env = {"SALON_MAX_OPEN_UPLOADS_PER_USER": "60"}
    async with running_app(tmp_path / "quota", env=env, database_url=salon_database) as app:
        headers = await app.login()
        codes = [(await announce(app, headers, big)).status_code for _ in range(52)]
        # 51 x 200 MiB = 9.96 GiB fit the default 10 GiB; the 52nd does not.
        assert codes == [201] * 51 + [413], codes
        over = await announce(app, headers, big)
        assert "storage quota exceeded" in over.json()["detail"]

    async with running_app(tmp_path / "cap", database_url=salon_database) as app:
        before = await _count(salon_database, UploadIntent)  # the database may be shared
        headers = await app.login()
        other = await app.login()
        answers = [await announce(app, headers, 1000) for _ in range(33)]
        assert [a.status_code for a in answers] == [201] * 32 + [429]
        refused = await announce(app, headers, 1000)
        assert "32 uploads announced and not finished" in refused.json()["detail"]
        assert 800 <= int(refused.headers["retry-after"]) <= 901  # when the oldest expires
        # Another user is not held by it, and an expired upload frees its place.
        assert (await announce(app, other, 1000)).status_code == 201
        await _expire(salon_database, answers[0].json()["upload_id"])
        assert (await announce(app, headers, 1000)).status_code == 201
        assert await _count(salon_database, UploadIntent) == before + 34  # 429s left nothing


async def test_videos_count_toward_the_quota_and_a_full_account_makes_none(
    salon_database: str, tmp_path: Path
) -> None:
    """Attack report 3: an account over its quota still made 65 MB videos, any number."""
    data = tmp_path / "data"
    async with running_app(data, database_url=salon_database) as app:
        headers = await app.login("maker@example.com")
        sent = await app.upload(headers, sample_jpeg(320, 240, (9, 90, 9)))
        small = {"image_ids": [sent.json()["id"]], "seconds_per_image": 1}
        created = await app.client.post(
            "/api/videos", json={**small, "width": 320, "height": 180}, headers=headers
        )
        assert created.status_code == 202, created.text
        # Followed through its job only: the video's own row is not read (attack report 4:
        # such a client made videos past the quota, their sizes recorded only when read).
        job = created.json()["job_id"]
        for _ in range(600):
            state = (await app.client.get(f"/api/jobs/{job}", headers=headers)).json()
            if state["status"] in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.2)
        assert state["status"] == "succeeded", state
        video_bytes = int(state["result"]["size"])
        async with database(salon_database) as session:
            assert await session.scalar(select(Video.size)) is None  # not recorded yet
        photo_bytes = sent.json()["size"]
    tiny = sample_jpeg(16, 16, (1, 1, 1))
    assert len(tiny) < video_bytes  # fits beside the photo unless the video counts
    env = {"SALON_STORAGE_QUOTA_BYTES": str(photo_bytes + video_bytes)}  # exactly full
    async with running_app(data, env=env, database_url=salon_database) as app:
        login = await app.client.post(
            "/api/auth/login", json={"email": "maker@example.com", "password": TEST_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        refused = await app.client.post(
            "/api/videos", json={**small, "width": 320, "height": 180}, headers=headers
        )
        assert refused.status_code == 413, refused.text
        assert "photos and videos use" in refused.json()["detail"]
        over = await app.upload(headers, tiny)
        assert over.status_code == 413 and "quota" in over.json()["detail"], over.text
