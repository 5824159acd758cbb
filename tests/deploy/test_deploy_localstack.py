"""The S3/SQS/IAM half of the stack, applied with tflocal to host-mode LocalStack, and Salon's
own code run against what Terraform created (not against resources the tests made):

* Salon's StorageContract suite on the Terraform bucket (versioned, encrypted, with its
  bucket policy, lifecycle and notification in place), through the S3 plugin;
* a direct upload under the upload prefix reaching the Terraform queue as an S3 event that
  the SQS plugin turns into a storage delivery, and nothing for other prefixes;
* a poisoned job redriven to the Terraform DLQ after max_receive_count receives, found by the
  SQS plugin through the queue's redrive policy;
* the IAM task roles as Terraform wrote them.

LocalStack is the suite's own (salon.testing's ensure_localstack: SALON_TEST_LOCALSTACK_URL from
`make test`, else one started with deploy/localstack/run.sh on a free port, never whatever
answers on :4566); where it cannot be installed or started, or tflocal cannot be installed,
the tests skip with the reason.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import boto3
import pytest
from botocore.config import Config
from deploy_support import DEPLOY, Terraform
from salon.testing.contracts.storage import StorageContract

pytestmark = pytest.mark.localstack

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}  # LocalStack's
MiB = 1 << 20


def client(service: str, endpoint: str, config: Config | None = None) -> Any:
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    return session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]


def sqs_urls_are_parseable(endpoint: str) -> str:
    """'' when LocalStack's queue URLs suit the Terraform AWS provider, else why not."""
    sqs = client("sqs", endpoint)
    url = sqs.create_queue(QueueName=f"salon-probe-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    if urllib.parse.urlparse(url).path.startswith("/queue/"):
        return (
            f"LocalStack hands out path-style queue URLs ({url}), which the Terraform AWS "
            "provider rejects; start it with SQS_ENDPOINT_STRATEGY=off (or dynamic)"
        )
    return ""


@pytest.fixture(scope="module")
def stack(terraform: Terraform) -> Iterator[dict[str, Any]]:
    """Apply examples/localstack with tflocal; yield its outputs (plus the endpoint); destroy."""
    from salon.testing.localstack import ensure_localstack

    handle, reason = ensure_localstack()
    if handle is None:
        pytest.skip(reason)
    endpoint = handle.endpoint_url
    try:
        problem = sqs_urls_are_parseable(endpoint)
        if problem:
            pytest.skip(problem)
        tflocal = DEPLOY / "tools" / "tflocal.sh"
        installed = subprocess.run(
            ["bash", str(tflocal), "--install-only"], capture_output=True, text=True, timeout=600
        )
        if installed.returncode != 0:
            pytest.skip(f"tflocal could not be installed: {installed.stderr.strip()[-400:]}")
        workdir = terraform.workdir / "examples" / "localstack"
        env = dict(terraform.env)
        env.update(
            AWS_ENDPOINT_URL=endpoint,
            S3_HOSTNAME=urllib.parse.urlparse(endpoint).hostname or "127.0.0.1",
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
        )
        name = f"salon-t{uuid.uuid4().hex[:8]}"

        def tf(*args: str, timeout: int = 400) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["bash", str(tflocal), *args],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )

        init = tf("init", "-backend=false", "-input=false", "-no-color")
        assert init.returncode == 0, init.stdout + init.stderr
        apply = tf("apply", "-auto-approve", "-input=false", "-no-color", f"-var=name={name}")
        try:
            assert apply.returncode == 0, apply.stdout[-4000:] + apply.stderr[-4000:]
            out = terraform.run("output", "-json", cwd=workdir)
            assert out.returncode == 0, out.stderr
            outputs = {k: v["value"] for k, v in json.loads(out.stdout).items()}
            outputs["endpoint"] = endpoint
            outputs["name"] = name
            yield outputs
        finally:
            destroy = tf(
                "destroy", "-auto-approve", "-input=false", "-no-color", f"-var=name={name}"
            )
            if destroy.returncode != 0:
                print(f"tflocal destroy failed: {destroy.stderr[-1000:]}")
    finally:
        handle.stop()


def test_terraform_made_the_stack(stack: dict[str, Any]) -> None:
    endpoint = stack["endpoint"]
    # Guard: everything here runs against LocalStack on this machine, never a real account.
    assert urllib.parse.urlparse(endpoint).hostname in ("127.0.0.1", "localhost")
    s3 = client("s3", endpoint)
    bucket = stack["bucket_name"]
    assert bucket == f"{stack['name']}-media"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    uploads = [r for r in rules if r.get("Filter", {}).get("Prefix") == stack["upload_prefix"]]
    assert uploads and uploads[0]["Expiration"]["Days"] >= 1
    notification = s3.get_bucket_notification_configuration(Bucket=bucket)
    (queue_config,) = notification["QueueConfigurations"]
    rule = queue_config["Filter"]["Key"]["FilterRules"][0]
    assert rule["Value"] == stack["upload_prefix"]
    sqs = client("sqs", endpoint)
    # The job queue and the long jobs' queue (videos) dead-letter into the same DLQ.
    assert stack["long_queue_url"].endswith(f"{stack['name']}-jobs-long")
    for url in (stack["queue_url"], stack["long_queue_url"]):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])
        assert int(redrive["maxReceiveCount"]) == stack["max_receive_count"]
        assert redrive["deadLetterTargetArn"].endswith(f"{stack['name']}-jobs-dlq")
    assert stack["app_environment"]["SALON_SQS_LONG_QUEUE_URL"] == stack["long_queue_url"]


def test_task_roles_are_scoped_to_the_stack(stack: dict[str, Any]) -> None:
    iam = client("iam", stack["endpoint"])
    for service, role in stack["task_role_names"].items():
        document = iam.get_role_policy(RoleName=role, PolicyName="bucket-prefix-and-queue")
        policy = document["PolicyDocument"]
        if isinstance(policy, str):
            policy = json.loads(urllib.parse.unquote(policy))
        resources = {r for s in policy["Statement"] for r in [s["Resource"]] if isinstance(r, str)}
        assert f"arn:aws:s3:::{stack['bucket_name']}/salon/*" in resources, service
        assert all(stack["name"] in r for r in resources), (service, resources)


def salon_storage(stack: dict[str, Any]) -> Any:
    from salon_aws_storage import S3Settings, S3Storage

    endpoint = stack["endpoint"]
    settings = S3Settings(
        bucket=stack["bucket_name"],
        prefix=stack["app_environment"]["SALON_S3_PREFIX"],
        multipart_threshold=5 * MiB,
        part_size=5 * MiB,
    )
    return S3Storage(settings, client_factory=lambda config: client("s3", endpoint, config))


def salon_queue(stack: dict[str, Any]) -> Any:
    from salon_aws_queue import SqsQueue
    from salon_aws_queue.settings import SqsSettings

    endpoint = stack["endpoint"]
    settings = SqsSettings(
        queue_url=stack["queue_url"],
        visibility_timeout=5,
        wait_seconds=2,
        max_receives=int(stack["app_environment"]["SALON_SQS_MAX_RECEIVES"]),
    )
    return SqsQueue(settings, client_factory=lambda config: client("sqs", endpoint, config))


class TestSalonStorageOnTerraformBucket(StorageContract):
    """Salon's storage contract through the S3 plugin, on the bucket Terraform configured."""

    large_object_size: ClassVar[int] = 24 * MiB

    @pytest.fixture
    def storage(self, stack: dict[str, Any]) -> Any:
        return salon_storage(stack)


async def drain_for(queue: Any, wanted: str, seconds: float) -> list[str]:
    """Receive (and ack) until a storage event for ``wanted`` arrives or time runs out; return
    the keys of the storage events seen."""
    import time

    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        delivery = await queue.receive(wait_seconds=2)
        if delivery is None:
            continue
        await queue.ack(delivery)
        if delivery.storage_event is None:
            continue
        seen.append(delivery.storage_event.key)
        if delivery.storage_event.key == wanted:
            break
    return seen


@pytest.fixture
async def queue(stack: dict[str, Any]) -> AsyncIterator[Any]:
    q = salon_queue(stack)
    yield q
    await q.close()


async def test_direct_upload_is_announced_on_the_queue(stack: dict[str, Any], queue: Any) -> None:
    s3 = client("s3", stack["endpoint"])
    key = f"{stack['upload_prefix']}{uuid.uuid4()}/{uuid.uuid4()}"
    other = f"salon/originals/{uuid.uuid4()}"
    s3.put_object(Bucket=stack["bucket_name"], Key=other, Body=b"not an upload")
    s3.put_object(Bucket=stack["bucket_name"], Key=key, Body=b"\xff\xd8\xff direct upload")
    seen = await drain_for(queue, key, seconds=30)
    assert key in seen, seen
    assert other not in seen
    assert not [s for s in seen if "originals/" in s]


async def test_poisoned_job_is_redriven_to_the_dlq(stack: dict[str, Any], queue: Any) -> None:
    job_id = str(uuid.uuid4())
    await queue.enqueue(job_id)
    receives = 0
    for _ in range(stack["max_receive_count"] * 3):
        delivery = await queue.receive(wait_seconds=2)
        if delivery is None:
            if receives >= stack["max_receive_count"]:
                break
            continue
        if delivery.job_id != job_id:
            await queue.ack(delivery)  # an S3 test event or a leftover: not ours
            continue
        receives += 1
        await queue.release(delivery)  # the job "failed": visible again at once
    assert receives == stack["max_receive_count"]
    dead = None
    for _ in range(5):
        dead = await queue.receive_dead_letter()
        if dead is not None:
            break
    assert dead is not None and dead.job_id == job_id
    await queue.ack_dead_letter(dead)
