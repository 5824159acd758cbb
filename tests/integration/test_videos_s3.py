"""Videos with every byte in S3 (moto server): the job reads the photos through
``StorageBackend.open`` (no local files), stores the MP4 in the bucket, and the video's URL is
a presigned GET that plays straight from S3. The server's own file route still serves ranges."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg
from salon.testing.moto import FAKE_CREDENTIALS, MotoServer, moto_server


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    try:
        with moto_server() as server:
            yield server
    except RuntimeError as exc:
        pytest.skip(f"moto server unavailable: {exc}")


@pytest.fixture
async def s3_app(
    tmp_path: Path, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningApp]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", FAKE_CREDENTIALS["AWS_DEFAULT_REGION"])
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto.endpoint_url)
    bucket = f"salon-videos-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto.endpoint_url).create_bucket(Bucket=bucket)
    env = {"SALON_STORAGE": "s3", "SALON_S3_BUCKET": bucket}
    async with running_app(tmp_path / "data", env=env) as app:
        yield app


async def test_video_from_s3_photos_plays_from_a_presigned_url(
    s3_app: RunningApp, moto: MotoServer, tmp_path: Path
) -> None:
    app = s3_app
    assert app.runtime.storage.capabilities.presigned_get
    assert not app.runtime.storage.capabilities.local_paths
    headers = await app.login()
    ids = []
    for color in ((200, 40, 40), (40, 40, 200)):
        response = await app.upload(headers, sample_jpeg(640, 480, color))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])

    created = await app.client.post(
        "/api/videos",
        json={"image_ids": ids, "seconds_per_image": 1.0, "width": 320, "height": 240},
        headers=headers,
    )
    assert created.status_code == 202, created.text
    video_id, job_id = created.json()["video_id"], created.json()["job_id"]
    for _ in range(600):
        job = (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job

    video = (await app.client.get(f"/api/videos/{video_id}", headers=headers)).json()
    assert video["status"] == "succeeded"
    assert abs(video["duration"] - 2.0) <= 0.1
    assert video["url"].startswith(moto.endpoint_url), video["url"]
    async with httpx.AsyncClient(timeout=30) as client:
        played = await client.get(video["url"])
    assert played.status_code == 200
    mp4 = tmp_path / "from-s3.mp4"
    mp4.write_bytes(played.content)

    # The server's route streams from S3 too, honouring ranges.
    ranged = await app.client.get(
        f"/api/videos/{video_id}/file", headers={**headers, "Range": "bytes=100-199"}
    )
    assert ranged.status_code == 206
    assert ranged.content == played.content[100:200]
    assert ranged.headers["content-range"] == f"bytes 100-199/{len(played.content)}"

    ffprobe = shutil.which("ffprobe")
    if ffprobe is None:
        pytest.skip("ffprobe not installed (apt-get install ffmpeg); MP4 probe checks skipped")
    info = json.loads(
        subprocess.run(
            [ffprobe, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(mp4)],
            check=True,
            capture_output=True,
        ).stdout
    )
    assert info["streams"][0]["codec_name"] == "h264"
    assert abs(float(info["format"]["duration"]) - 2.0) <= 0.1


async def test_listed_videos_play_from_presigned_urls_and_delete_leaves_nothing_in_s3(
    s3_app: RunningApp, moto: MotoServer
) -> None:
    app = s3_app
    headers = await app.login()
    uploaded = await app.upload(headers, sample_jpeg(320, 240, (30, 160, 60)))
    assert uploaded.status_code == 201, uploaded.text
    body = {"image_ids": [uploaded.json()["id"]], "seconds_per_image": 0.5}
    created = await app.client.post(
        "/api/videos", json={**body, "width": 160, "height": 160}, headers=headers
    )
    assert created.status_code == 202, created.text
    video_id, job_id = created.json()["video_id"], created.json()["job_id"]
    for _ in range(600):
        job = (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job

    (listed,) = (await app.client.get("/api/videos", headers=headers)).json()["items"]
    assert listed["id"] == video_id
    assert listed["url"].startswith(moto.endpoint_url), listed["url"]
    async with httpx.AsyncClient(timeout=30) as client:
        played = await client.get(listed["url"])
    assert played.status_code == 200 and played.content[4:8] == b"ftyp"

    prefix = f"videos/{(await app.client.get('/api/me', headers=headers)).json()['id']}/{video_id}"
    stored = [info.key async for info in app.runtime.storage.list(prefix)]
    assert f"{prefix}.mp4" in stored, stored
    deleted = await app.client.delete(f"/api/videos/{video_id}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert [info.key async for info in app.runtime.storage.list(prefix)] == []
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(listed["url"])).status_code in (403, 404)
    assert (await app.client.get("/api/videos", headers=headers)).json()["items"] == []
