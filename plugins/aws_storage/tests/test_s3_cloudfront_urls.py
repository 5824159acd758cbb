"""Rendition URLs through CloudFront: with ``SALON_S3_CLOUDFRONT_*`` set, the app redirects a
rendition to a CloudFront signed URL (canned policy) on the distribution's domain, for the
object S3 holds under that path, valid as long as a presigned S3 URL would be; originals stay
presigned S3 URLs. The signature is checked with the public key, as CloudFront checks it."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from salon.errors import ConfigurationError
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg
from salon_aws_storage import S3Settings, S3Storage

from .conftest import CREDENTIALS, REGION, s3_client

DOMAIN = "d111111abcdef8.cloudfront.net"
KEY_ID = "K2JCJMDEHXQW5F"
PREFIX = "cdn"
TTL = 300


@pytest.fixture(scope="module")
def key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key, pem


@pytest.fixture
async def cdn_app(
    tmp_path: Path,
    moto_url: str,
    moto_bucket: str,
    key_pair: tuple[rsa.RSAPrivateKey, str],
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningApp]:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    env = {
        "SALON_STORAGE": "s3",
        "SALON_S3_BUCKET": moto_bucket,
        "SALON_S3_PREFIX": PREFIX,
        "SALON_PRESIGN_TTL": str(TTL),
        "SALON_S3_CLOUDFRONT_DOMAIN": DOMAIN,
        "SALON_S3_CLOUDFRONT_KEY_ID": KEY_ID,
        "SALON_S3_CLOUDFRONT_PRIVATE_KEY": key_pair[1],
    }
    async with running_app(tmp_path / "data", env=env) as app:
        yield app


def _cloudfront_b64decode(value: str) -> bytes:
    return base64.b64decode(value.replace("-", "+").replace("_", "=").replace("~", "/"))


def verify_canned(url: str, public_key: rsa.RSAPublicKey) -> int:
    """Check a canned-policy signed URL as CloudFront does; return its expiry (epoch s)."""
    resource, _, query = url.partition("?")
    params = dict(urllib.parse.parse_qsl(query))
    assert params["Key-Pair-Id"] == KEY_ID
    expires = int(params["Expires"])
    policy = {
        "Statement": [
            {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
        ]
    }
    message = json.dumps(policy, separators=(",", ":")).encode()
    signature = _cloudfront_b64decode(params["Signature"])
    public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA1())
    return expires


async def test_renditions_redirect_to_signed_cloudfront_urls(
    cdn_app: RunningApp,
    moto_url: str,
    moto_bucket: str,
    key_pair: tuple[rsa.RSAPrivateKey, str],
) -> None:
    app = cdn_app
    headers = await app.login()
    created = await app.upload(headers, sample_jpeg(640, 480, (200, 40, 40)))
    assert created.status_code == 201, created.text
    image = created.json()

    before = int(time.time())
    response = await app.client.get(
        image["urls"]["renditions"]["sm"], headers=headers, follow_redirects=False
    )
    assert response.status_code == 307, response.text
    location = response.headers["location"]
    parts = urllib.parse.urlsplit(location)
    assert (parts.scheme, parts.netloc) == ("https", DOMAIN)
    assert "X-Amz-Signature" not in location

    expires = verify_canned(location, key_pair[0].public_key())
    assert before + TTL <= expires <= int(time.time()) + TTL
    # A changed path or expiry no longer matches the signature.
    with pytest.raises(InvalidSignature):
        verify_canned(location.replace("/sm.", "/lg."), key_pair[0].public_key())
    with pytest.raises(InvalidSignature):
        verify_canned(
            location.replace(f"Expires={expires}", f"Expires={expires + 1}"),
            key_pair[0].public_key(),
        )

    # The path is the object's key in the bucket (what CloudFront asks S3 for via OAC).
    key = urllib.parse.unquote(parts.path.lstrip("/"))
    assert key.startswith(f"{PREFIX}/renditions/")
    head = s3_client(moto_url).head_object(Bucket=moto_bucket, Key=key)
    assert head["ContentType"] == "image/webp"

    # Originals (named downloads) stay on presigned S3 URLs.
    original = await app.client.get(
        f"/api/images/{image['id']}/original", headers=headers, follow_redirects=False
    )
    assert original.status_code == 307
    assert original.headers["location"].startswith(moto_url)
    assert "X-Amz-Signature=" in original.headers["location"]


def test_cloudfront_settings_go_together_and_the_key_is_checked(
    key_pair: tuple[rsa.RSAPrivateKey, str],
) -> None:
    with pytest.raises(ValueError, match="must be set together"):
        S3Settings(bucket="b", cloudfront_domain=DOMAIN)
    with pytest.raises(ValueError, match="host name"):
        S3Settings(
            bucket="b",
            cloudfront_domain=f"https://{DOMAIN}/",
            cloudfront_key_id=KEY_ID,
            cloudfront_private_key=key_pair[1],
        )
    with pytest.raises(ConfigurationError, match="not an unencrypted PEM") as error:
        S3Storage(
            S3Settings(
                bucket="b",
                cloudfront_domain=DOMAIN,
                cloudfront_key_id=KEY_ID,
                cloudfront_private_key="-----BEGIN PRIVATE KEY-----\nnot a key\n-----END",
            )
        )
    assert "not a key" not in str(error.value)
    settings = S3Settings(
        bucket="b",
        cloudfront_domain=DOMAIN,
        cloudfront_key_id=KEY_ID,
        # As a secret pasted on one line: literal backslash-n between the lines.
        cloudfront_private_key=key_pair[1].replace("\n", "\\n"),
    )
    assert "PRIVATE KEY" not in repr(settings)
    S3Storage(settings)  # loads
