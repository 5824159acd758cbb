"""deploy/tools/release.sh against a stand-in ``aws`` CLI (real bash and jq): a rollback whose
migrate task says the schema is too new for the image (``salon db upgrade`` exit 3) is refused
before either service changes; a normal release goes through."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_support import DEPLOY

# Answers each aws call release.sh makes; records the calls. The migrate container's exit code
# comes from FAKE_MIGRATE_EXIT.
FAKE_AWS = r"""
import json, os, sys
args = [a for a in sys.argv[1:]]
while args and args[0].startswith("--"):
    args = args[2:]  # --region R --output json
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
service, op = args[0], args[1]
def arg(name):
    return args[args.index(name) + 1]
account = "arn:aws:ecs:eu-west-1:123456789012"
DIGEST = "sha256:" + "ab" * 32
if op == "describe-images":
    ids = arg("--image-ids")
    known = ids in ("imageTag=v41", "imageDigest=" + DIGEST)
    out = {"imageDetails": [{"imageDigest": DIGEST}] if known else []}
elif op == "describe-repositories":
    out = {"repositories": [{"repositoryUri": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s"}]}
elif op == "describe-task-definition":
    family = arg("--task-definition")
    out = {"taskDefinition": {"family": family, "revision": 1,
           "taskDefinitionArn": f"{account}:task-definition/{family}:1",
           "containerDefinitions": [{"name": family.rsplit("-", 1)[-1], "image": "old"}]}}
elif op == "register-task-definition":
    spec = json.load(open(arg("--cli-input-json").removeprefix("file://")))
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write("image " + spec["containerDefinitions"][0]["image"] + "\n")
    out = {"taskDefinition": {"taskDefinitionArn":
           f"{account}:task-definition/{spec['family']}:2"}}
elif op == "describe-services":
    out = {"services": [{"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}},
           "taskDefinition": f"{account}:task-definition/salon-prod-web:2"}]}
elif op == "run-task":
    out = {"tasks": [{"taskArn": f"{account}:task/salon-prod/1"}]}
elif op == "describe-tasks":
    code = int(os.environ["FAKE_MIGRATE_EXIT"])
    out = {"tasks": [{"containers": [{"name": "migrate", "exitCode": code}]}]}
else:
    out = {}
print(json.dumps(out))
"""


def _release(
    tmp_path: Path, migrate_exit: int, tag: str = "v41"
) -> tuple[subprocess.CompletedProcess[str], str]:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (apt-get install -y jq)")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "fake_aws.py").write_text(FAKE_AWS)
    aws = bin_dir / "aws"
    aws.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{bin_dir / "fake_aws.py"}" "$@"\n')
    aws.chmod(0o755)
    log = tmp_path / "aws.log"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "STACK": "salon-prod",
        "AWS_REGION": "eu-west-1",
        "FAKE_AWS_LOG": str(log),
        "FAKE_MIGRATE_EXIT": str(migrate_exit),
    }
    result = subprocess.run(
        ["bash", str(DEPLOY / "tools" / "release.sh"), tag],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, log.read_text() if log.exists() else ""


def test_a_rollback_the_code_cannot_do_is_refused(tmp_path: Path) -> None:
    result, calls = _release(tmp_path, migrate_exit=3)
    assert result.returncode == 3, result.stderr
    assert "refusing: image v41 cannot run on the current database schema" in result.stderr
    assert "ecs run-task" in calls
    assert "update-service" not in calls


def test_a_release_the_code_can_do_goes_through(tmp_path: Path) -> None:
    result, calls = _release(tmp_path, migrate_exit=0)
    assert result.returncode == 0, result.stderr
    assert "released v41" in result.stdout
    assert calls.count("ecs update-service") == 2


DIGEST = "sha256:" + "ab" * 32
IMAGE = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/s@{DIGEST}"


def test_a_tag_is_pinned_to_its_digest(tmp_path: Path) -> None:
    result, calls = _release(tmp_path, migrate_exit=0)
    assert result.returncode == 0, result.stderr
    images = [line.split()[1] for line in calls.splitlines() if line.startswith("image ")]
    assert images == [IMAGE] * 3  # web, worker and migrate, each by digest


def test_a_digest_can_be_released(tmp_path: Path) -> None:
    result, calls = _release(tmp_path, migrate_exit=0, tag=DIGEST)
    assert result.returncode == 0, result.stderr
    assert f"--image-ids imageDigest={DIGEST}" in calls
    assert [line.split()[1] for line in calls.splitlines() if line.startswith("image ")] == [
        IMAGE
    ] * 3


def test_an_unknown_image_is_refused_before_anything_changes(tmp_path: Path) -> None:
    result, calls = _release(tmp_path, migrate_exit=0, tag="nope")
    assert result.returncode == 1
    assert "image nope not found" in result.stderr
    assert "register-task-definition" not in calls and "run-task" not in calls
