"""Fixtures for the S3 backend's tests: a moto server (fast) and LocalStack (real).

The moto server runs as a separate process rather than ThreadedMotoServer so that the objects it
holds do not count against the test process's heap, which the storage contract measures.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from salon.testing.localstack import localstack_endpoint  # noqa: F401 (a fixture)
from salon_aws_storage import S3Settings, S3Storage

REGION = "us-east-1"
# Both emulators accept any credentials; these are not secrets.
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
MiB = 1 << 20


def s3_client(endpoint_url: str, config: Config | None = None) -> Any:
    """A client aimed at an emulator; the app itself uses boto3's standard chain."""
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    return session.client("s3", endpoint_url=endpoint_url, config=config)


def make_storage(endpoint_url: str, bucket: str, **settings: Any) -> S3Storage:
    """An S3Storage whose (lazily made) client points at ``endpoint_url``."""
    values: dict[str, Any] = {"multipart_threshold": 5 * MiB, "part_size": 5 * MiB}
    values.update(settings)
    return S3Storage(
        S3Settings(bucket=bucket, **values),
        client_factory=lambda config: s3_client(endpoint_url, config),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto server in its own process on a free port."""
    port = _free_port()
    moto = Path(sys.executable).with_name("moto_server")
    if not moto.exists():
        pytest.skip(f"moto_server not installed next to {sys.executable} (dev dependency moto)")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/moto-api/data.json", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("moto server did not start")
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _bucket(endpoint_url: str) -> Iterator[str]:
    client = s3_client(endpoint_url)
    name = f"salon-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        _empty_and_delete(client, name)


def _empty_and_delete(client: Any, bucket: str) -> None:
    for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        client.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if objects:
            client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    client.delete_bucket(Bucket=bucket)


@pytest.fixture(scope="session")
def moto_bucket(moto_url: str) -> Iterator[str]:
    yield from _bucket(moto_url)


@pytest.fixture(scope="session")
def localstack_url(localstack_endpoint: str) -> str:  # noqa: F811 (uses the imported fixture)
    return localstack_endpoint


@pytest.fixture(scope="session")
def localstack_bucket(localstack_url: str) -> Iterator[str]:
    yield from _bucket(localstack_url)


@pytest.fixture
def storage_factory() -> Callable[..., S3Storage]:
    return make_storage
