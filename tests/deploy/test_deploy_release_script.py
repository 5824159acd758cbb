"""deploy/tools/release.sh against a stand-in ``aws`` CLI (real bash and jq): a rollback whose
migrate task says the schema is too new for the image (``salon db upgrade`` exit 3) is refused
before either service changes; a normal release goes through."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from deploy_support import DEPLOY

# Answers each aws call release.sh makes from a small ECS state kept in a JSON file (task
# definitions with revisions and status, what each service runs); records the calls. The
# migrate container's exit code comes from FAKE_MIGRATE_EXIT; FAKE_ECS sets how the services
# behave once updated: "ok", "circuit-breaker" (ECS puts web back on its previous revision) or
# "never-stable" (the waiter gives up).
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
REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s"
DIGEST = "sha256:" + "ab" * 32
state_file = os.environ["FAKE_AWS_STATE"]
if os.path.exists(state_file):
    state = json.load(open(state_file))
else:
    # Revisions 1 (an older release) and 2 (what runs) of each family.
    state = {"defs": {}, "services": {}}
    for family in ("salon-prod-web", "salon-prod-worker", "salon-prod-migrate"):
        for rev, hexa in ((1, "ef"), (2, "cd")):
            state["defs"][f"{account}:task-definition/{family}:{rev}"] = {
                "family": family, "revision": rev, "status": "ACTIVE",
                "image": f"{REPO}@sha256:" + hexa * 32}
    for svc in ("salon-prod-web", "salon-prod-worker"):
        state["services"][svc] = {"td": f"{account}:task-definition/{svc}:2", "before": None}
def find(ref):
    if ref in state["defs"]:
        return ref
    if ":" in ref:
        return f"{account}:task-definition/{ref}"
    active = [a for a, d in state["defs"].items() if d["family"] == ref and d["status"] == "ACTIVE"]
    return max(active, key=lambda a: state["defs"][a]["revision"])
out = {}
if op == "describe-images":
    ids = arg("--image-ids")
    known = ids in ("imageTag=v41", "imageDigest=" + DIGEST)
    out = {"imageDetails": [{"imageDigest": DIGEST}] if known else []}
elif op == "describe-repositories":
    out = {"repositories": [{"repositoryUri": REPO}]}
elif op == "describe-task-definition":
    arn = find(arg("--task-definition"))
    d = state["defs"][arn]
    out = {"taskDefinition": {"family": d["family"], "revision": d["revision"],
           "taskDefinitionArn": arn, "status": d["status"],
           "containerDefinitions": [{"name": d["family"].rsplit("-", 1)[-1], "image": d["image"]}]}}
    if "--include" in args:
        out["tags"] = [{"key": "salon:stack", "value": "salon-prod"}]
elif op == "list-task-definitions":
    fam = arg("--family-prefix")
    arns = [a for a, d in state["defs"].items() if d["family"] == fam and d["status"] == "ACTIVE"]
    out = {"taskDefinitionArns": sorted(arns, key=lambda a: -state["defs"][a]["revision"])}
elif op == "register-task-definition":
    spec = json.load(open(arg("--cli-input-json").removeprefix("file://")))
    with open(os.environ["FAKE_AWS_LOG"], "a") as log:
        log.write("image " + spec["containerDefinitions"][0]["image"] + "\n")
        log.write("tags " + json.dumps(spec.get("tags")) + "\n")
    family = spec["family"]
    rev = 1 + max(d["revision"] for d in state["defs"].values() if d["family"] == family)
    arn = f"{account}:task-definition/{family}:{rev}"
    state["defs"][arn] = {"family": family, "revision": rev, "status": "ACTIVE",
                          "image": spec["containerDefinitions"][0]["image"]}
    out = {"taskDefinition": {"taskDefinitionArn": arn}}
elif op == "deregister-task-definition":
    state["defs"][arg("--task-definition")]["status"] = "INACTIVE"
elif op == "describe-services":
    out = {"services": [{"serviceName": s, "taskDefinition": state["services"][s]["td"],
           "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}}}
           for s in args[args.index("--services") + 1:] if not s.startswith("--")]}
elif op == "update-service":
    svc = state["services"][arg("--service")]
    svc["before"], svc["td"] = svc["td"], arg("--task-definition")
elif op == "run-task":
    import re
    # ECS refuses a startedBy outside [A-Za-z0-9_/-]{1,128} (InvalidParameterException).
    if "--started-by" in args and not re.fullmatch(r"[A-Za-z0-9_/-]{1,128}", arg("--started-by")):
        print("InvalidParameterException: startedBy", file=sys.stderr)
        sys.exit(254)
    out = {"tasks": [{"taskArn": f"{account}:task/salon-prod/1"}]}
elif op == "describe-tasks":
    code = int(os.environ["FAKE_MIGRATE_EXIT"])
    out = {"tasks": [{"containers": [{"name": "migrate", "exitCode": code}]}]}
elif op == "wait" and args[2] == "services-stable":
    behaviour = os.environ.get("FAKE_ECS", "ok")
    if behaviour == "circuit-breaker":
        web = state["services"]["salon-prod-web"]
        web["td"] = web["before"]
    elif behaviour == "never-stable":
        print("\nWaiter ServicesStable failed: Max attempts exceeded", file=sys.stderr)
        sys.exit(255)
json.dump(state, open(state_file, "w"))
print(json.dumps(out))
"""


def _release(
    tmp_path: Path, migrate_exit: int, tag: str = "v41", ecs: str = "ok"
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
        "FAKE_AWS_STATE": str(tmp_path / "ecs.json"),
        "FAKE_ECS": ecs,
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


@pytest.mark.parametrize("tag", ["v41", DIGEST])
def test_the_migrate_task_is_started_by_a_name_ecs_accepts(tmp_path: Path, tag: str) -> None:
    """``release.sh "$(release.sh --previous)"`` passes a digest: ``release-sha256:...`` has a
    colon and was refused by RunTask, so every documented rollback failed."""
    result, calls = _release(tmp_path, migrate_exit=0, tag=tag)
    assert result.returncode == 0, result.stderr
    [run] = [line for line in calls.splitlines() if line.startswith("ecs run-task")]
    started_by = run.split("--started-by ")[1].split()[0]
    assert started_by == "release-" + DIGEST[7:35], started_by


@pytest.mark.parametrize(
    "reference",
    [
        f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/s@{DIGEST}",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s:v41",
    ],
)
def test_a_whole_image_reference_is_taken(tmp_path: Path, reference: str) -> None:
    """The README's "current image" lookup prints the task definition's whole reference."""
    result, calls = _release(tmp_path, migrate_exit=0, tag=reference)
    assert result.returncode == 0, result.stderr
    expected = f"imageDigest={DIGEST}" if "@" in reference else "imageTag=v41"
    assert f"--image-ids {expected}" in calls


def test_an_unknown_image_is_refused_before_anything_changes(tmp_path: Path) -> None:
    result, calls = _release(tmp_path, migrate_exit=0, tag="nope")
    assert result.returncode == 1
    assert "image nope not found" in result.stderr
    assert "register-task-definition" not in calls and "run-task" not in calls


ACCOUNT = "arn:aws:ecs:eu-west-1:123456789012"
FAMILIES = ("salon-prod-web", "salon-prod-worker", "salon-prod-migrate")


def _state(tmp_path: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((tmp_path / "ecs.json").read_text())
    return state


def _latest_active(state: dict[str, Any], family: str) -> str:
    active = [
        (d["revision"], arn)
        for arn, d in state["defs"].items()
        if d["family"] == family and d["status"] == "ACTIVE"
    ]
    return max(active)[1]


def test_a_finished_release_leaves_its_revisions_latest(tmp_path: Path) -> None:
    result, calls = _release(tmp_path, migrate_exit=0)
    assert result.returncode == 0, result.stderr
    state = _state(tmp_path)
    for family in FAMILIES:
        assert _latest_active(state, family) == f"{ACCOUNT}:task-definition/{family}:3"
    assert "deregister-task-definition" not in calls
    # What ran before is in the release's log, to roll back to.
    assert f"now running: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/s@sha256:{'cd' * 32}" in (
        result.stdout
    )


@pytest.mark.parametrize("migrate_exit", [1, 3])
def test_a_refused_release_deregisters_what_it_registered(
    tmp_path: Path, migrate_exit: int
) -> None:
    """Otherwise the families' latest revisions name the refused image, and run-task.sh or a
    manual `aws ecs run-task --task-definition <name>-migrate` would run it."""
    result, calls = _release(tmp_path, migrate_exit=migrate_exit)
    assert result.returncode == migrate_exit, result.stderr
    state = _state(tmp_path)
    for family in FAMILIES:
        assert state["defs"][f"{ACCOUNT}:task-definition/{family}:3"]["status"] == "INACTIVE"
        assert _latest_active(state, family) == f"{ACCOUNT}:task-definition/{family}:2"
    assert "update-service" not in calls


def test_a_circuit_breaker_rollback_says_so_and_puts_the_worker_back(tmp_path: Path) -> None:
    result, _ = _release(tmp_path, migrate_exit=0, ecs="circuit-breaker")
    assert result.returncode == 1
    assert "rolled back: the new web tasks never became healthy" in result.stderr
    state = _state(tmp_path)
    for service in ("salon-prod-web", "salon-prod-worker"):
        assert state["services"][service]["td"] == f"{ACCOUNT}:task-definition/{service}:2"
    for family in FAMILIES:
        assert _latest_active(state, family).endswith(f"/{family}:2")


def test_a_waiter_that_gives_up_ends_in_a_rollback_not_a_bare_waiter_error(
    tmp_path: Path,
) -> None:
    result, _ = _release(tmp_path, migrate_exit=0, ecs="never-stable")
    assert result.returncode == 1
    assert "did not become stable within the waiter's limit" in result.stderr
    assert "rolled back: salon-prod-web is back on" in result.stderr
    assert "rolled back: salon-prod-worker is back on" in result.stderr
    state = _state(tmp_path)
    for service in ("salon-prod-web", "salon-prod-worker"):
        assert state["services"][service]["td"] == f"{ACCOUNT}:task-definition/{service}:2"


def test_the_task_definitions_tags_are_copied(tmp_path: Path) -> None:
    """describe-task-definition --include TAGS answers the tags beside the definition; the new
    revision must carry them (register-task-definition takes them as "tags")."""
    result, calls = _release(tmp_path, migrate_exit=0)
    assert result.returncode == 0, result.stderr
    tags = [json.loads(line[5:]) for line in calls.splitlines() if line.startswith("tags ")]
    assert tags == [[{"key": "salon:stack", "value": "salon-prod"}]] * 3


def test_previous_prints_the_image_that_ran_before(tmp_path: Path) -> None:
    result, calls = _release(tmp_path, migrate_exit=0, tag="--previous")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sha256:" + "ef" * 32
    assert "register-task-definition" not in calls and "update-service" not in calls


def test_previous_skips_revisions_of_a_release_that_was_refused(tmp_path: Path) -> None:
    _release(tmp_path, migrate_exit=1)  # registers :3 with the new image, then deregisters it
    (tmp_path / "aws.log").unlink()
    shutil.rmtree(tmp_path / "bin")
    result, _ = _release(tmp_path, migrate_exit=0, tag="--previous")
    assert result.stdout.strip() == "sha256:" + "ef" * 32


def test_previous_after_a_release_is_the_image_released_over(tmp_path: Path) -> None:
    _release(tmp_path, migrate_exit=0)
    (tmp_path / "aws.log").unlink()
    shutil.rmtree(tmp_path / "bin")
    result, _ = _release(tmp_path, migrate_exit=0, tag="--previous")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sha256:" + "cd" * 32


def test_previous_is_another_image_not_the_same_one_by_tag(tmp_path: Path) -> None:
    """After the first release, revision 1 is Terraform's (repo:tag) and revision 2 release.sh's
    (repo@digest) of the same image: that is no image to roll back to."""
    repo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/s"
    defs = {}
    for family in FAMILIES:
        for rev, image in ((1, f"{repo}:v41"), (2, f"{repo}@{DIGEST}")):
            defs[f"{ACCOUNT}:task-definition/{family}:{rev}"] = {
                "family": family,
                "revision": rev,
                "status": "ACTIVE",
                "image": image,
            }
    services = {
        s: {"td": f"{ACCOUNT}:task-definition/{s}:2", "before": None}
        for s in ("salon-prod-web", "salon-prod-worker")
    }
    (tmp_path / "ecs.json").write_text(json.dumps({"defs": defs, "services": services}))
    result, _ = _release(tmp_path, migrate_exit=0, tag="--previous")
    assert result.returncode == 1, result.stdout
    assert result.stdout == "" and "no earlier image" in result.stderr
