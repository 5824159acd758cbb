"""deploy/localstack/run.sh and salon.testing.localstack: resources, exports, skip reasons
(the refusal to touch a LocalStack it did not start: tests/unit/test_localstack_launcher.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import boto3
import pytest
from salon.testing.localstack import (
    ensure_localstack,
    find_run_script,
    is_healthy,
    start_localstack,
)

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
def test_start_on_a_named_localstack_creates_resources_and_prints_exports(
    localstack_url: str,
) -> None:
    script = find_run_script()
    assert script is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALSTACK_", "SALON_"))}
    env["LOCALSTACK_EXTERNAL_URL"] = localstack_url
    result = subprocess.run(
        ["bash", str(script), "start"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "not started here" in result.stderr
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines()
    )
    assert exports["AWS_ENDPOINT_URL"] == localstack_url
    assert exports["AWS_DEFAULT_REGION"] == exports["AWS_REGION"] == REGION
    assert exports["SALON_STORAGE"] == "s3" and exports["SALON_QUEUE"] == "sqs"
    assert exports["SALON_INPROCESS_WORKER"] == "true"
    assert exports["SALON_SQS_MAX_RECEIVES"] == "3"

    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    s3 = session.client("s3", endpoint_url=localstack_url)
    s3.head_bucket(Bucket="salon-media")
    rule = s3.get_bucket_cors(Bucket="salon-media")["CORSRules"][0]
    assert rule["AllowedOrigins"] == ["*"] and "POST" in rule["AllowedMethods"]
    sqs = session.client("sqs", endpoint_url=localstack_url)
    queue_url = sqs.get_queue_url(QueueName="salon-jobs")["QueueUrl"]
    assert exports["SALON_SQS_QUEUE_URL"] == queue_url
    assert queue_url.startswith(localstack_url)  # path-style URLs that need no DNS
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])
    policy = json.loads(attributes["Attributes"]["RedrivePolicy"])
    assert int(policy["maxReceiveCount"]) == 3
    assert policy["deadLetterTargetArn"].endswith(":salon-jobs-dlq")

    # `stop` never stops a LocalStack named this way.
    stopped = subprocess.run(
        ["bash", str(script), "stop"], env=env, capture_output=True, text=True, timeout=60
    )
    assert stopped.returncode == 0 and "leaving it alone" in stopped.stderr
    assert is_healthy(localstack_url)


def _listening_addresses(port: int) -> list[str]:
    """The local addresses of sockets listening on ``port`` (IPv4 and IPv6), from /proc."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in handle.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.append(
                        socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
                        if len(address) == 8
                        else socket.inet_ntop(socket.AF_INET6, bytes.fromhex(address))
                    )
    return found


@pytest.mark.localstack
def test_run_sh_listens_on_loopback_only(localstack_url: str) -> None:
    """run.sh asks for 127.0.0.1: LocalStack's default server (twisted) listened on every
    address anyway, so anyone on the network could read the bucket (outside newcomer, s28)."""
    script = find_run_script()
    assert script is not None
    handle, reason = start_localstack(script)
    assert handle is not None, reason
    try:
        port = int(handle.endpoint_url.rsplit(":", 1)[1])
        assert _listening_addresses(port) == ["127.0.0.1"]
    finally:
        handle.stop()
