"""S3 backend specifics on a moto server: multipart clean-up, encryption headers, settings,
the standard credential chain, the lazily made per-process client, error translation."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator
from importlib import metadata
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from salon.errors import ConfigurationError, ObjectNotFound, StorageError
from salon.plugins import collect_registry, make_plugin_manager
from salon.providers import ProviderContext
from salon.settings import parse_plugin_settings
from salon.testing.contracts.storage import UploadFailed, chunks_of, pattern_chunks, read_all
from salon_aws_storage import S3Settings, S3Storage

from .conftest import MiB, make_storage, s3_client


@pytest.fixture
def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def test_failed_multipart_upload_is_aborted(
    moto_url: str, moto_bucket: str, prefix: str
) -> None:
    storage = make_storage(moto_url, moto_bucket, prefix=prefix)
    with pytest.raises(UploadFailed):
        await storage.put("big", pattern_chunks(11 * MiB, fail=True), content_type="x/y")
    uploads = s3_client(moto_url).list_multipart_uploads(Bucket=moto_bucket, Prefix=prefix)
    assert uploads.get("Uploads", []) == []
    with pytest.raises(ObjectNotFound):
        await storage.stat("big")


async def test_multipart_parts_and_sse(moto_url: str, moto_bucket: str, prefix: str) -> None:
    storage = make_storage(moto_url, moto_bucket, prefix=prefix)
    info = await storage.put("big", pattern_chunks(12 * MiB), content_type="video/mp4")
    assert info.size == 12 * MiB
    assert info.etag is not None and info.etag.endswith("-3")  # 5 MiB + 5 MiB + 2 MiB parts
    head = s3_client(moto_url).head_object(Bucket=moto_bucket, Key=f"{prefix}/big")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "video/mp4"


async def test_small_put_sets_sse_and_content_type(
    moto_url: str, moto_bucket: str, prefix: str
) -> None:
    storage = make_storage(moto_url, moto_bucket, prefix=prefix)
    await storage.put("small", chunks_of(b"abc"), content_type="image/png")
    head = s3_client(moto_url).head_object(Bucket=moto_bucket, Key=f"{prefix}/small")
    assert head["ServerSideEncryption"] == "AES256"
    assert (await storage.stat("small")).content_type == "image/png"


async def test_kms_key_is_sent(moto_url: str, moto_bucket: str, prefix: str) -> None:
    storage = make_storage(moto_url, moto_bucket, prefix=prefix, kms_key_id="alias/salon-test")
    await storage.put("secret", chunks_of(b"abc"), content_type="text/plain")
    head = s3_client(moto_url).head_object(Bucket=moto_bucket, Key=f"{prefix}/secret")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith("alias/salon-test")


async def test_sse_none_sends_no_header(moto_url: str, moto_bucket: str, prefix: str) -> None:
    storage = make_storage(moto_url, moto_bucket, prefix=prefix, sse="none")
    form = await storage.presign_post("k", content_type="image/png", max_size=9, expires_in=60)
    assert not any(name.startswith("x-amz-server-side") for name in form.fields)
    assert S3Settings(bucket="b", kms_key_id="k").effective_sse == "aws:kms"


async def test_prefix_is_applied_and_stripped(moto_url: str, moto_bucket: str, prefix: str) -> None:
    storage = make_storage(moto_url, moto_bucket, prefix=f"{prefix}/nested")
    await storage.put("a/b", chunks_of(b"1"), content_type="text/plain")
    raw = s3_client(moto_url).list_objects_v2(Bucket=moto_bucket, Prefix=prefix)
    assert [o["Key"] for o in raw["Contents"]] == [f"{prefix}/nested/a/b"]
    assert [i.key async for i in storage.list("a/")] == ["a/b"]


async def test_list_fetches_pages_lazily(moto_url: str, moto_bucket: str, prefix: str) -> None:
    client = s3_client(moto_url)
    for i in range(23):
        client.put_object(Bucket=moto_bucket, Key=f"{prefix}/many/{i:03d}", Body=b"")
    storage = make_storage(moto_url, moto_bucket, prefix=prefix)
    storage.list_page_size = 5  # 5 pages of at most 5 keys
    requests: list[str] = []
    storage.client.meta.events.register(
        "before-call.s3.ListObjectsV2", lambda **kw: requests.append("list")
    )
    listing = storage.list("many/")
    first = await listing.__anext__()
    assert first.key == "many/000"
    assert len(requests) == 1  # only the first page so far
    keys = [first.key] + [info.key async for info in listing]
    assert keys == [f"many/{i:03d}" for i in range(23)]
    assert len(requests) == 5


async def test_abandoned_download_releases_connection(
    moto_url: str, moto_bucket: str, prefix: str
) -> None:
    storage = make_storage(moto_url, moto_bucket, prefix=prefix, max_pool_connections=1)
    await storage.put("k", chunks_of(b"z" * 500_000), content_type="x/y")
    for _ in range(3):  # with one pooled connection, a leaked body would block the next GET
        stream = storage.open("k", chunk_size=1000)
        assert len(await stream.__anext__()) == 1000
        await stream.aclose()
    assert len(await read_all(storage, "k")) == 500_000


# ------------------------------------------------------------------ readiness and errors


async def test_check_on_missing_bucket_is_configuration_error(moto_url: str) -> None:
    storage = make_storage(moto_url, "salon-no-such-bucket")
    with pytest.raises(ConfigurationError) as caught:
        await storage.check()
    assert "salon-no-such-bucket" in str(caught.value)
    assert "does not exist" in str(caught.value)


async def test_get_from_missing_bucket_is_configuration_error(moto_url: str) -> None:
    storage = make_storage(moto_url, "salon-no-such-bucket")
    with pytest.raises(ConfigurationError):
        await read_all(storage, "k")


async def test_check_on_unreachable_endpoint(moto_bucket: str) -> None:
    storage = make_storage("http://127.0.0.1:9", moto_bucket, max_attempts=1, connect_timeout=1)
    with pytest.raises(ConfigurationError) as caught:
        await storage.check()
    assert "cannot reach" in str(caught.value)


@pytest.mark.localstack
async def test_check_on_localstack(localstack_url: str, localstack_bucket: str) -> None:
    await make_storage(localstack_url, localstack_bucket).check()
    with pytest.raises(ConfigurationError):
        await make_storage(localstack_url, f"missing-{uuid.uuid4().hex[:8]}").check()


def client_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {}}
    response["ResponseMetadata"]["HTTPStatusCode"] = status
    return ClientError(response, operation)


@pytest.mark.parametrize(
    ("error", "key", "expected"),
    [
        (client_error("NoSuchKey", 404), "k", ObjectNotFound),
        (client_error("404", 404, "HeadObject"), "k", ObjectNotFound),
        (client_error("404", 404, "HeadBucket"), None, ConfigurationError),
        (client_error("NoSuchBucket", 404), "k", ConfigurationError),
        (client_error("AccessDenied", 403), "k", ConfigurationError),
        (client_error("403", 403, "HeadBucket"), None, ConfigurationError),
        (client_error("InvalidAccessKeyId", 403), "k", ConfigurationError),
        (client_error("SlowDown", 503), "k", StorageError),
        (client_error("InternalError", 500), "k", StorageError),
        (NoCredentialsError(), "k", ConfigurationError),
        (EndpointConnectionError(endpoint_url="http://x"), "k", StorageError),
    ],
)
def test_translate(error: Exception, key: str | None, expected: type[Exception]) -> None:
    translated = S3Storage(S3Settings(bucket="bkt")).boundary.error(error, subject=key)
    assert type(translated) is expected
    assert "secret" not in str(translated).lower()


def test_access_denied_message_is_helpful() -> None:
    boundary = S3Storage(S3Settings(bucket="b")).boundary
    message = str(boundary.error(client_error("AccessDenied", 403, "PutObject"), subject="k"))
    assert "PutObject" in message and "'b'" in message and "IAM" in message


# ------------------------------------------------------------------ settings and wiring


def registry_offer() -> Any:
    # Only this plugin (other plugins' states must not decide this test), loaded the way the
    # entry point names it.
    (entry,) = [ep for ep in metadata.entry_points(group="salon") if ep.name == "aws_storage"]
    assert entry.value == "salon_aws_storage"
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[entry.load()])
    return collect_registry(pm)


def test_settings_from_environment_and_bucket_required(tmp_path: Any) -> None:
    registry = registry_offer()
    assert "s3" in registry.names("storage")
    assert registry.offer("storage", "s3").plugin == "salon_aws_storage"
    declared = {"S3": registry.settings_types["S3"]}
    parsed = parse_plugin_settings({"s3_prefix": "p", "s3_part_size": "6291456"}, declared)["S3"]
    assert parsed == S3Settings(prefix="p", part_size=6 * MiB)
    context = ProviderContext(core=None, settings=parsed, data_dir=tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        registry.build("storage", "s3", context)
    assert "SALON_S3_BUCKET" in str(caught.value)


@pytest.mark.parametrize(
    "values",
    [
        {"s3_sse": "rot13"},
        {"s3_part_size": "1024"},
        {"s3_retry_mode": "forever"},
        {"s3_addressing_style": "sideways"},
        {"s3_presign_ttl": "0"},
        {"s3_prefix": "../up"},
        {"s3_sse": "none", "s3_kms_key_id": "k"},
        {"s3_endpoint_url": "http://x"},  # endpoints come from boto3's chain only
    ],
)
def test_bad_settings_stop_start_up(values: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        parse_plugin_settings(values, {"S3": (S3Settings, "aws_storage")})


async def test_standard_chain_reaches_the_endpoint(
    moto_url: str, moto_bucket: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    settings = S3Settings(bucket=moto_bucket, prefix="chain", retry_mode="adaptive")
    storage = S3Storage.from_context(
        ProviderContext(core=None, settings=settings, data_dir=tmp_path)
    )
    await storage.check()
    await storage.put("x", chunks_of(b"via env"), content_type="text/plain")
    assert await read_all(storage, "x") == b"via env"
    config = storage.client.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 5}
    assert config.connect_timeout == 5.0 and config.read_timeout == 60.0


def test_one_lazy_client_per_process(moto_url: str, moto_bucket: str) -> None:
    made: list[object] = []

    def factory(config: Any) -> Any:
        made.append(config)
        return s3_client(moto_url, config)

    storage = S3Storage(S3Settings(bucket=moto_bucket), client_factory=factory)
    assert made == []  # nothing made at start-up
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(storage.client)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1
    assert all(client is seen[0] for client in seen)


async def test_chunks_that_are_bytearrays_are_copied(
    moto_url: str, moto_bucket: str, prefix: str
) -> None:
    storage = make_storage(moto_url, moto_bucket, prefix=prefix)
    reused = bytearray(b"A" * 1000)

    async def same_buffer() -> AsyncIterator[bytes]:
        for letter in b"ABC":
            reused[:] = bytes([letter]) * 1000
            yield reused  # type: ignore[misc]

    await storage.put("reuse", same_buffer(), content_type="x/y")
    assert await read_all(storage, "reuse") == b"A" * 1000 + b"B" * 1000 + b"C" * 1000


def test_plain_http_endpoint_is_a_browser_origin_for_the_csp() -> None:
    """LocalStack is plain http: the app's CSP must name it or browsers block direct uploads."""
    from salon.app import content_security_policy
    from salon_aws_storage.settings import S3Settings
    from salon_aws_storage.storage import S3Storage

    class _Meta:
        endpoint_url = "http://127.0.0.1:4566"

    class _Client:
        meta = _Meta()

    storage = S3Storage(S3Settings(bucket="b"), client_factory=lambda config: _Client())  # type: ignore[arg-type,return-value]
    assert storage.browser_origins == ("http://127.0.0.1:4566",)
    csp = content_security_policy(storage.browser_origins).decode()
    assert "connect-src 'self' https: http://127.0.0.1:4566;" in csp
    _Meta.endpoint_url = "https://s3.eu-west-1.amazonaws.com"
    assert (
        S3Storage(S3Settings(bucket="b"), client_factory=lambda config: _Client()).browser_origins
        == ()
    )  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("key_prefix", ["", "tenant-a/"])
async def test_check_lists_only_under_the_prefix_the_task_role_may_list(key_prefix: str) -> None:
    """The task roles may ``s3:ListBucket`` only with an ``s3:prefix`` under SALON_S3_KEY_PREFIX
    (deploy/terraform/modules/iam); AWS authorises HeadBucket as an unconditioned ListBucket,
    so a HeadBucket readiness check would be refused in production for ever."""
    from botocore.stub import Stubber

    client = s3_client("http://127.0.0.1:9", None)
    storage = S3Storage(S3Settings(bucket="b", prefix=key_prefix), client_factory=lambda _c: client)
    with Stubber(client) as stub:
        stub.add_response(
            "list_objects_v2",
            {"KeyCount": 0},
            {"Bucket": "b", "Prefix": f"{key_prefix}originals/", "MaxKeys": 1},
        )
        await storage.check()
        stub.assert_no_pending_responses()
