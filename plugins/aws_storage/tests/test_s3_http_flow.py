"""End to end through the HTTP API with every byte in S3 on LocalStack: a direct upload by
presigned POST of a real JPEG, completion, listing, and downloads by 307 redirect to presigned
URLs; and a direct upload that breaks the policy is refused by S3 and never becomes an image."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg

from .conftest import CREDENTIALS, REGION, s3_client

pytestmark = pytest.mark.localstack

PREFIX = "http-flow"


@pytest.fixture
async def s3_app(
    tmp_path: Path, localstack_url: str, localstack_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningApp]:
    # The plugin takes endpoint, region and credentials from boto3's standard chain, as in
    # production; only the endpoint variable says "LocalStack".
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", localstack_url)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    env = {
        "SALON_STORAGE": "s3",
        "SALON_S3_BUCKET": localstack_bucket,
        "SALON_S3_PREFIX": PREFIX,
    }
    async with running_app(tmp_path / "data", env=env) as app:
        yield app


async def announce(app: RunningApp, headers: dict[str, str], data: bytes, **extra: Any) -> Any:
    body = {"filename": "Holiday.jpg", "content_type": "image/jpeg", "size": len(data), **extra}
    response = await app.client.post("/api/uploads", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def post_to_bucket(intent: Any, data: bytes, content_type: str = "image/jpeg") -> int:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            intent["url"],
            data=intent["fields"],
            files={"file": ("Holiday.jpg", data, content_type)},
        )
    return response.status_code


def bucket_keys(localstack_url: str, bucket: str, prefix: str) -> list[str]:
    listing = s3_client(localstack_url).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


async def test_direct_upload_listing_and_redirect_downloads(
    s3_app: RunningApp, localstack_url: str, localstack_bucket: str
) -> None:
    app = s3_app
    assert (await app.client.get("/ready")).status_code == 200
    headers = await app.login()
    data = sample_jpeg(800, 600, (10, 120, 200))

    intent = await announce(app, headers, data)
    assert intent["method"] == "POST"
    assert intent["url"].startswith(localstack_url)  # the browser talks to the bucket
    assert intent["fields"]["key"].startswith(f"{PREFIX}/")
    assert "Holiday" not in intent["fields"]["key"]  # keys never carry user filenames
    assert intent["fields"]["Content-Type"] == "image/jpeg"
    assert await post_to_bucket(intent, data) == 204

    done = await app.client.post(
        f"/api/uploads/{intent['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert done.status_code == 201, done.text
    image = done.json()
    assert image["size"] == len(data)
    assert image["sha256"] == hashlib.sha256(data).hexdigest()
    assert (image["width"], image["height"]) == (800, 600)

    listing = await app.client.get("/api/images", headers=headers)
    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["items"]] == [image["id"]]

    # The upload object is gone; the original and renditions live in the bucket.
    assert not any(
        "upload" in key for key in bucket_keys(localstack_url, localstack_bucket, PREFIX)
    )
    stored = bucket_keys(localstack_url, localstack_bucket, f"{PREFIX}/originals/")
    assert len(stored) == 1

    # The test client would "follow" the redirect into the app itself: look at it instead.
    original = await app.client.get(
        f"/api/images/{image['id']}/original", headers=headers, follow_redirects=False
    )
    assert original.status_code == 307, original.text
    location = original.headers["location"]
    assert location.startswith(localstack_url) and "X-Amz-Signature=" in location
    async with httpx.AsyncClient(timeout=30) as client:
        downloaded = await client.get(location)
        assert downloaded.status_code == 200
        assert downloaded.content == data
        # The signature is checked: a forged URL does not download.
        forged = location.replace("X-Amz-Signature=", "X-Amz-Signature=f")
        assert (await client.get(forged)).status_code == 403

        rendition = await app.client.get(
            image["urls"]["renditions"]["sm"], headers=headers, follow_redirects=False
        )
        assert rendition.status_code == 307
        small = await client.get(rendition.headers["location"])
        assert small.status_code == 200
        with Image.open(io.BytesIO(small.content)) as decoded:
            assert decoded.format == "WEBP"
            assert max(decoded.size) == 320

    # Another user gets the same 404 as for a missing image, and no redirect.
    stranger = await app.login()
    other = await app.client.get(
        f"/api/images/{image['id']}/original", headers=stranger, follow_redirects=False
    )
    assert other.status_code == 404


async def test_policy_breaking_direct_uploads_never_become_images(
    s3_app: RunningApp, localstack_url: str, localstack_bucket: str
) -> None:
    app = s3_app
    headers = await app.login()
    data = sample_jpeg(320, 240)
    before = bucket_keys(localstack_url, localstack_bucket, PREFIX)

    # Larger than announced: S3 refuses it (content-length-range).
    intent = await announce(app, headers, data[: len(data) // 2])
    assert await post_to_bucket(intent, data) == 400
    done = await app.client.post(
        f"/api/uploads/{intent['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert 400 <= done.status_code < 500

    # Another content type than announced: S3 refuses it (exact Content-Type condition).
    intent = await announce(app, headers, data)
    intent["fields"]["Content-Type"] = "text/html"
    assert await post_to_bucket(intent, data, "text/html") == 403
    done = await app.client.post(
        f"/api/uploads/{intent['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert 400 <= done.status_code < 500

    # Another key than the intent's: refused (exact key condition).
    intent = await announce(app, headers, data)
    intent["fields"]["key"] = f"{PREFIX}/originals/forged"
    assert await post_to_bucket(intent, data) == 403

    listing = await app.client.get("/api/images", headers=headers)
    assert listing.json()["items"] == []
    assert bucket_keys(localstack_url, localstack_bucket, PREFIX) == before  # nothing left


async def test_the_direct_upload_helper_sends_to_the_bucket(s3_app: RunningApp) -> None:
    """``RunningApp.direct_upload`` (salon.testing) follows a presigned POST to S3 as the web
    UI does, where the local folder's intent points back at the server."""
    headers = await s3_app.login()
    data = sample_jpeg(320, 240, (200, 90, 10))
    done = await s3_app.direct_upload(headers, data, filename="Helper.jpg")
    assert done.status_code == 201, done.text
    assert done.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert done.json()["status"] == "ready"
