"""Local-cloud parity: the PRODUCTION example (deploy/terraform/examples/production, unchanged)
applied to the suite's LocalStack for every part LocalStack community offers, then Salon's own
storage and queue contracts run against the bucket and queue Terraform made there.

What is applied: the stack's KMS key and alias, the alarm SNS topic (under that key), the
generated SALON_SECRET_KEY secret (Secrets Manager, ephemeral password), the network (VPC,
subnets, NAT gateways, gateway and interface endpoints, flow logs), the log groups, the queue
with its DLQ and alarms, the media and access-log buckets (SSE-KMS, lifecycle, policy, the S3
event notification to the queue) and the task roles with their scoped policies. ECS, RDS, the
ALB, ECR, Cognito, CloudFront and API Gateway are not in LocalStack community: they are left
out with ``-target`` (the production configuration itself is applied as written, not a copy
made to suit LocalStack), and the ECR-bound execution role with them.

Two override files are written into a private copy of the tree: a local backend (state in the
test's temporary folder) and provider endpoints pointing at LocalStack (what tflocal does).
LocalStack is the suite's own (ensure_localstack: SALON_TEST_LOCALSTACK_URL under
`make test`); it must run the services deploy/localstack/run.sh starts by default.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
from deploy_support import TF_ROOT, Terraform
from salon.testing.contracts.queue import JobQueueContract
from salon.testing.contracts.storage import StorageContract

pytestmark = pytest.mark.localstack

REGION = "us-east-1"
MiB = 1 << 20
SERVICES = ("ec2", "kms", "s3", "sqs", "sns", "secretsmanager", "iam", "sts", "logs")
ENDPOINTS = (*SERVICES, "cloudwatch", "ssm")

# Everything in the production example LocalStack community can make. Terraform adds what
# these depend on (data sources, the KMS key under the secrets, the queue under the bucket).
TARGETS = (
    "aws_kms_key.this",
    "aws_kms_alias.this",
    "aws_sns_topic.alarms",
    "module.secret_key",
    "module.network",
    "module.logs",
    "module.queue",
    "module.storage",
    "module.iam.aws_iam_role.task",
    "module.iam.aws_iam_role_policy.task",
)


def client(service: str, endpoint: str, config: Any = None) -> Any:
    session = boto3.session.Session(
        region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test"
    )
    return session.client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]


def missing_services(endpoint: str) -> list[str]:
    with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=10) as response:
        services = json.load(response).get("services", {})
    return [s for s in SERVICES if services.get(s) in (None, "disabled")]


def provider_override(endpoint: str) -> str:
    """Both aws providers of the example (default and ``secrets``) aimed at LocalStack."""
    endpoints = "".join(f'    {name} = "{endpoint}"\n' for name in ENDPOINTS)
    blocks = []
    for alias in ("", "secrets"):
        blocks.append(
            'provider "aws" {\n'
            + (f'  alias = "{alias}"\n' if alias else "")
            + '  access_key = "test"\n  secret_key = "test"\n'
            + "  skip_credentials_validation = true\n  skip_metadata_api_check = true\n"
            + "  skip_requesting_account_id = true\n  s3_use_path_style = true\n"
            + f"  endpoints {{\n{endpoints}  }}\n}}\n"
        )
    return "\n".join(blocks)


@pytest.fixture(scope="module")
def production(
    terraform: Terraform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    from salon.testing.localstack import ensure_localstack

    handle, reason = ensure_localstack()
    if handle is None:
        pytest.skip(reason)
    endpoint = handle.endpoint_url
    try:
        missing = missing_services(endpoint)
        if missing:
            pytest.skip(
                f"the LocalStack at {endpoint} does not run {', '.join(missing)} (start it "
                "with deploy/localstack/run.sh, whose default LOCALSTACK_SERVICES has them)"
            )
        # A private copy: the overrides and the state never touch the repository or the
        # session's shared copy that other deploy tests init without a backend.
        root = tmp_path_factory.mktemp("production") / "terraform"
        shutil.copytree(
            TF_ROOT,
            root,
            ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
        )
        workdir = root / "examples" / "production"
        state = root.parent / "terraform.tfstate"
        (workdir / "localstack_backend_override.tf").write_text(
            f'terraform {{\n  backend "local" {{\n    path = "{state}"\n  }}\n}}\n'
        )
        (workdir / "localstack_providers_override.tf").write_text(provider_override(endpoint))
        name = f"salon-p{uuid.uuid4().hex[:6]}"
        variables = [
            f"-var=region={REGION}",
            f"-var=name={name}",
            "-var=domain_name=photos.example.com",
            "-var=route53_zone_id=Z0123456789ABC",
            "-var=image_tag=parity",
        ]
        targets = [f"-target={t}" for t in TARGETS]
        terraform.ok("init", "-input=false", "-no-color", cwd=workdir)
        apply = terraform.run(
            "apply", "-auto-approve", *variables, *targets, cwd=workdir, timeout=400
        )
        try:
            assert apply.returncode == 0, apply.stdout[-4000:] + apply.stderr[-4000:]
            listed = terraform.ok("state", "list", cwd=workdir).split()
            outputs = {
                k: v["value"]
                for k, v in json.loads(terraform.ok("output", "-json", cwd=workdir)).items()
            }
            yield {"endpoint": endpoint, "name": name, "state": listed, "outputs": outputs}
        finally:
            destroy = terraform.run(
                "destroy", "-auto-approve", *variables, *targets, cwd=workdir, timeout=400
            )
            if destroy.returncode != 0:
                print(f"terraform destroy failed: {destroy.stderr[-1000:]}")
    finally:
        handle.stop()


def _bucket(production: dict[str, Any]) -> str:
    return str(production["outputs"]["media_bucket"])


def _kms_arn(production: dict[str, Any]) -> str:
    kms = client("kms", production["endpoint"])
    alias = kms.describe_key(KeyId=f"alias/{production['name']}")
    return str(alias["KeyMetadata"]["Arn"])


def test_every_community_service_was_applied(production: dict[str, Any]) -> None:
    endpoint = production["endpoint"]
    # Guard: everything here runs against LocalStack on this machine, never a real account.
    assert urllib.parse.urlparse(endpoint).hostname in ("127.0.0.1", "localhost")
    kinds = {address.split("[")[0].rsplit(".", 2)[-2] for address in production["state"]}
    for kind in (
        "aws_vpc",
        "aws_subnet",
        "aws_nat_gateway",
        "aws_vpc_endpoint",
        "aws_flow_log",
        "aws_kms_key",
        "aws_sns_topic",
        "aws_secretsmanager_secret",
        "aws_cloudwatch_log_group",
        "aws_sqs_queue",
        "aws_cloudwatch_metric_alarm",
        "aws_s3_bucket_notification",
        "aws_iam_role_policy",
    ):
        assert kind in kinds, (kind, sorted(kinds))
    key = _kms_arn(production)
    sns = client("sns", endpoint)
    topic = next(
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(f":{production['name']}-alarms")
    )
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["KmsMasterKeyId"] == key
    rule = client("s3", endpoint).get_bucket_encryption(Bucket=_bucket(production))[
        "ServerSideEncryptionConfiguration"
    ]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    alarms = client("cloudwatch", endpoint).describe_alarms(AlarmNamePrefix=production["name"])
    dlq_alarms = [
        a
        for a in alarms["MetricAlarms"]
        if a["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and any(d["Value"].endswith("-jobs-dlq") for d in a["Dimensions"])
    ]
    assert dlq_alarms and dlq_alarms[0]["AlarmActions"] == [topic]
    endpoints = client("ec2", endpoint).describe_vpc_endpoints()["VpcEndpoints"]
    services = {e["ServiceName"].rsplit(".", 1)[-1] for e in endpoints}
    assert {"s3", "sqs", "logs", "secretsmanager"} <= services, services


def test_the_bucket_notifies_the_queue_terraform_made(production: dict[str, Any]) -> None:
    endpoint = production["endpoint"]
    notification = client("s3", endpoint).get_bucket_notification_configuration(
        Bucket=_bucket(production)
    )
    (queue_config,) = notification["QueueConfigurations"]
    queue_arn = client("sqs", endpoint).get_queue_attributes(
        QueueUrl=production["outputs"]["queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert queue_config["QueueArn"] == queue_arn


class TestSalonStorageOnProductionBucket(StorageContract):
    """Salon's storage contract through the S3 plugin, SSE-KMS under the stack's own key,
    as the production task definitions configure it (SALON_S3_SSE, SALON_S3_KMS_KEY_ID)."""

    large_object_size: ClassVar[int] = 12 * MiB

    @pytest.fixture
    def storage(self, production: dict[str, Any]) -> Any:
        from salon_aws_storage import S3Settings, S3Storage

        endpoint = production["endpoint"]
        settings = S3Settings(
            bucket=_bucket(production),
            prefix=f"salon-{uuid.uuid4().hex[:8]}/",
            sse="aws:kms",
            kms_key_id=_kms_arn(production),
            multipart_threshold=5 * MiB,
            part_size=5 * MiB,
        )
        return S3Storage(settings, client_factory=lambda config: client("s3", endpoint, config))


def _purge(endpoint: str, url: str) -> None:
    """Empty the shared Terraform queue between contract tests (each expects a fresh one)."""
    sqs = client("sqs", endpoint)
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages:
            return
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


class TestSalonQueueOnProductionQueue(JobQueueContract):
    """Salon's queue contract through the SQS plugin, on the queue Terraform made."""

    stale_receipts_are_ignored = False  # as on LocalStack in plugins/aws_queue/tests

    @pytest.fixture
    async def job_queue(self, production: dict[str, Any]) -> AsyncIterator[Any]:
        from salon_aws_queue import SqsQueue
        from salon_aws_queue.settings import SqsSettings

        endpoint = production["endpoint"]
        urls = [production["outputs"][name] for name in ("queue_url", "long_queue_url")]
        for url in urls:
            _purge(endpoint, url)
        queue = SqsQueue(
            SqsSettings(queue_url=urls[0], long_queue_url=urls[1], visibility_timeout=2),
            client_factory=lambda config: client("sqs", endpoint, config),
        )
        assert queue.lanes_apart  # the lanes test of the contract runs on both queues
        yield queue
        await queue.close()
        for url in urls:
            _purge(endpoint, url)


def test_production_overrides_stay_out_of_the_repository() -> None:
    # The overrides are written into a private copy only; one in the tree would silently
    # point a real `terraform apply` at LocalStack.
    assert not list(Path(TF_ROOT).rglob("*_override.tf"))
