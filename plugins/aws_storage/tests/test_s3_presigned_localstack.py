"""Presigned POST and GET against LocalStack, which enforces POST policies and (with
S3_SKIP_SIGNATURE_VALIDATION=0, as deploy/localstack/run.sh sets) GET signatures."""

from __future__ import annotations

import io
import time
import uuid

import anyio
import httpx
import pytest
from PIL import Image
from salon.errors import ObjectNotFound
from salon.providers import PresignedPost
from salon_aws_storage import S3Storage

from .conftest import make_storage

pytestmark = pytest.mark.localstack


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def storage(localstack_url: str, localstack_bucket: str) -> S3Storage:
    return make_storage(localstack_url, localstack_bucket, prefix="presign")


@pytest.fixture
def key() -> str:
    return f"uploads/{uuid.uuid4().hex}"


async def post_form(
    form: PresignedPost, body: bytes, *, content_type: str = "image/jpeg", **overrides: str
) -> httpx.Response:
    fields = {**form.fields, **overrides}
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(
            form.url, data=fields, files={"file": ("photo.jpg", body, content_type)}
        )


async def test_real_jpeg_is_accepted(storage: S3Storage, key: str) -> None:
    data = jpeg_bytes()
    form = await storage.presign_post(
        key, content_type="image/jpeg", max_size=len(data) + 100, expires_in=120
    )
    assert form.fields["key"] == "presign/" + key  # the plugin's prefix, then the core's key
    response = await post_form(form, data)
    assert response.status_code == 204, response.text
    info = await storage.stat(key)
    assert info.size == len(data)
    assert info.content_type == "image/jpeg"
    head = storage.client.head_object(Bucket=storage.bucket, Key="presign/" + key)
    assert head["ServerSideEncryption"] == "AES256"
    assert b"".join([c async for c in storage.open(key)]) == data


async def test_oversize_upload_is_rejected(storage: S3Storage, key: str) -> None:
    data = jpeg_bytes((400, 300))
    form = await storage.presign_post(key, content_type="image/jpeg", max_size=100, expires_in=60)
    response = await post_form(form, data)
    assert response.status_code == 400
    assert "EntityTooLarge" in response.text
    with pytest.raises(ObjectNotFound):
        await storage.stat(key)


async def test_wrong_content_type_is_rejected(storage: S3Storage, key: str) -> None:
    form = await storage.presign_post(
        key, content_type="image/jpeg", max_size=100_000, expires_in=60
    )
    response = await post_form(form, jpeg_bytes(), **{"Content-Type": "text/html"})
    assert response.status_code == 403, response.text
    with pytest.raises(ObjectNotFound):
        await storage.stat(key)


async def test_other_key_is_rejected(storage: S3Storage, key: str) -> None:
    form = await storage.presign_post(
        key, content_type="image/jpeg", max_size=100_000, expires_in=60
    )
    other = "presign/uploads/someone-else"
    response = await post_form(form, jpeg_bytes(), key=other)
    assert response.status_code == 403, response.text
    with pytest.raises(ObjectNotFound):
        await storage.stat("uploads/someone-else")


async def test_expired_form_is_rejected(storage: S3Storage, key: str) -> None:
    form = await storage.presign_post(
        key, content_type="image/jpeg", max_size=100_000, expires_in=1
    )
    await anyio.sleep(2.1)
    response = await post_form(form, jpeg_bytes())
    assert response.status_code == 403, response.text
    with pytest.raises(ObjectNotFound):
        await storage.stat(key)


async def test_presigned_get_signature_is_checked(storage: S3Storage, key: str) -> None:
    data = jpeg_bytes()
    form = await storage.presign_post(
        key, content_type="image/jpeg", max_size=10_000, expires_in=60
    )
    assert (await post_form(form, data)).status_code == 204
    url = await storage.presign_get(key, expires_in=60, filename="Holiday pic é.jpg")
    async with httpx.AsyncClient(timeout=30) as client:
        good = await client.get(url)
        assert good.status_code == 200
        assert good.content == data
        disposition = good.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert "filename*=UTF-8''Holiday%20pic%20%C3%A9.jpg" in disposition
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        assert (await client.get(tampered)).status_code == 403


async def test_presigned_get_expires(storage: S3Storage, key: str) -> None:
    from salon.testing.contracts.storage import chunks_of

    await storage.put(key, chunks_of(b"short-lived"), content_type="text/plain")
    url = await storage.presign_get(key, expires_in=1)
    await anyio.sleep(2.1)
    async with httpx.AsyncClient(timeout=30) as client:
        assert (await client.get(url)).status_code == 403


async def test_presign_ttl_is_capped_by_settings(
    localstack_url: str, localstack_bucket: str
) -> None:
    storage = make_storage(localstack_url, localstack_bucket, presign_ttl=30)
    url = await storage.presign_get("any/key", expires_in=3600)
    assert "X-Amz-Expires=30" in url
    form = await storage.presign_post(
        "any/key", content_type="image/png", max_size=5, expires_in=3600
    )
    remaining = form.expires_at.timestamp() - time.time()
    assert 0 < remaining <= 31
