"""deploy/localstack/run.sh and salon.testing.localstack: reuse, resources, skip reasons."""

from __future__ import annotations

import json
import socket
import subprocess

import boto3
import pytest
from salon.testing.localstack import ensure_localstack, find_run_script, is_healthy

from .conftest import CREDENTIALS, REGION


def test_unreachable_url_gives_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("SALON_TEST_LOCALSTACK_URL", url)
    assert not is_healthy(url)
    handle, reason = ensure_localstack()
    assert handle is None
    assert url in reason


def test_disabled_gives_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALON_TEST_LOCALSTACK", "0")
    handle, reason = ensure_localstack()
    assert handle is None
    assert "SALON_TEST_LOCALSTACK=0" in reason


def test_run_script_is_found() -> None:
    script = find_run_script()
    assert script is not None
    assert script.parts[-3:] == ("deploy", "localstack", "run.sh")


@pytest.mark.localstack
def test_start_reuses_a_healthy_localstack_and_creates_resources(localstack_url: str) -> None:
    script = find_run_script()
    assert script is not None
    result = subprocess.run(
        ["bash", str(script), "start"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stderr
    status = subprocess.run(
        ["bash", str(script), "status"], capture_output=True, text=True, timeout=30, check=False
    )
    assert status.returncode == 0

    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    s3 = session.client("s3", endpoint_url=localstack_url)
    s3.head_bucket(Bucket="salon-media")
    sqs = session.client("sqs", endpoint_url=localstack_url)
    queue_url = sqs.get_queue_url(QueueName="salon-jobs")["QueueUrl"]
    assert queue_url.startswith(localstack_url)  # path-style URLs that need no DNS
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    policy = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert int(policy["maxReceiveCount"]) == 3
    assert policy["deadLetterTargetArn"].endswith(":salon-jobs-dlq")
