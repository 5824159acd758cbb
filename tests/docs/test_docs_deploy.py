"""deploy/README.md, "Running the application half on LocalStack": the block run verbatim in a
fresh clone, on a LocalStack port of its own; the bucket and queue its `app_environment`
output names must exist in that LocalStack. The AWS blocks of that README need an account and
are illustrative (fenced ```bash), so nothing runs them."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

import pytest

from .docblocks import section_blocks
from .docshell import Shell

pytestmark = [pytest.mark.docs, pytest.mark.timeout(1500)]

SECTION = "Running the application half on LocalStack"
# The offline provider mirror the block's tf-offline.sh reads through TF_PLUGIN_MIRROR: this
# machine's, as tests/deploy finds it (deploy_support._provider_mirror).
MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR") or "/opt/tf-plugins")


def test_terraform_stack_on_localstack(clone: Path, shell: Shell) -> None:
    if shutil.which("terraform") is None or not MIRROR.is_dir():
        pytest.skip(
            f"needs terraform on PATH and the provider mirror {MIRROR} "
            "(see deploy/README.md, Offline checks)"
        )
    outputs = ""
    shell.run(f"export TF_PLUGIN_MIRROR={shlex.quote(str(MIRROR))}")
    try:
        for block in section_blocks(clone, "deploy/README.md", SECTION):
            for command in block.commands():
                if command.startswith("terraform output -json app_environment"):
                    outputs = shell.capture(command)
                else:
                    shell.run(command, timeout=900)
        assert outputs, "the block no longer prints `terraform output -json app_environment`"
        settings = json.loads(outputs)
        endpoint = f"http://127.0.0.1:{shell.start_env['LOCALSTACK_PORT']}"
        _check_resources(settings, endpoint)
    finally:
        # No `terraform destroy` (about a minute): the LocalStack stopped here, its state and
        # the Terraform state all live in the throw-away clone.
        shell.run(f"make -C {clone} localstack-stop", check=False)


def _check_resources(settings: dict[str, str], endpoint: str) -> None:
    import boto3

    assert settings["SALON_STORAGE"] == "s3" and settings["SALON_QUEUE"] == "sqs", settings
    options = {
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "aws_access_key_id": "test",
        "aws_secret_access_key": "test",
    }
    s3 = boto3.client("s3", **options)
    s3.head_bucket(Bucket=settings["SALON_S3_BUCKET"])
    sqs = boto3.client("sqs", **options)
    attributes = sqs.get_queue_attributes(
        QueueUrl=settings["SALON_SQS_QUEUE_URL"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert "deadLetterTargetArn" in attributes["RedrivePolicy"], attributes
