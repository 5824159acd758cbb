"""deploy/README.md, "Running the application half on LocalStack": the blocks run verbatim in a
fresh clone, on a LocalStack and a web port of their own; the bucket and queue the stack's
`app_environment` output names must exist in that LocalStack, and Salon started with the
exports `tf-env.sh` prints must serve on them (S3 storage, SQS queue, SALON_PUBLIC_URL on the
exported PORT). The AWS blocks of that README need an account and are illustrative (fenced
```bash), so nothing runs them."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import wait_ready
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
    stack, run = section_blocks(clone, "deploy/README.md", SECTION)
    shell.run(f"export TF_PLUGIN_MIRROR={shlex.quote(str(MIRROR))}")
    try:
        # One `&&` chain (it stops at the first failing step), ending with the output.
        (chain,) = stack.commands()
        last = chain.splitlines()[-1]
        assert last.startswith("terraform output -json app_environment"), chain
        shell.run(chain, timeout=900)
        settings = json.loads(shell.capture("terraform output -json app_environment"))
        endpoint = f"http://127.0.0.1:{shell.start_env['LOCALSTACK_PORT']}"
        _check_resources(settings, endpoint)
        _check_salon_on_stack(shell, shell.run_block(run), settings)
    finally:
        # No `terraform destroy` (about a minute): the LocalStack stopped here, its state and
        # the Terraform state all live in the throw-away clone.
        shell.run(f"make -C {clone} localstack-stop", check=False)


def _check_salon_on_stack(shell: Shell, servers: list[Any], settings: dict[str, str]) -> None:
    """`make run` after `eval "$(tf-env.sh)"` serves on the stack's bucket and queue, at the
    PORT this shell exported (tf-env.sh makes SALON_PUBLIC_URL follow it)."""
    port = shell.start_env["PORT"]
    assert len(servers) == 1, servers
    env = shell.env()
    for key in ("SALON_S3_BUCKET", "SALON_SQS_QUEUE_URL", "SALON_S3_PREFIX"):
        assert env[key] == settings[key], (key, env[key], settings[key])
    # The block applied the stack for this shell's PORT: the address and the CORS origin agree.
    assert settings["SALON_PUBLIC_URL"] == f"http://127.0.0.1:{port}", settings
    assert env["SALON_PUBLIC_URL"] == settings["SALON_PUBLIC_URL"], env["SALON_PUBLIC_URL"]
    wait_ready(f"http://127.0.0.1:{port}", servers[0])
    selected = json.loads(shell.capture(".venv/bin/salon plugins --json"))["selected"]
    assert (selected["storage"], selected["queue"]) == ("s3", "sqs"), selected


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
    origins = s3.get_bucket_cors(Bucket=settings["SALON_S3_BUCKET"])["CORSRules"][0]
    assert settings["SALON_PUBLIC_URL"] in origins["AllowedOrigins"], origins
    sqs = boto3.client("sqs", **options)
    attributes = sqs.get_queue_attributes(
        QueueUrl=settings["SALON_SQS_QUEUE_URL"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    assert "deadLetterTargetArn" in attributes["RedrivePolicy"], attributes
