"""deploy/tools/run-task.sh against a stand-in `aws` CLI on PATH (ECS cannot run tasks on
LocalStack community or moto): the command it sends, the exit code it passes on, and the
failures ECS reports in a 200 answer, which must stop the script instead of being waited on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploy_support import REPO

SCRIPT = REPO / "deploy" / "tools" / "run-task.sh"

# A stand-in for `aws`: records each call, answers from the scenario in $FAKE_AWS_SCENARIO.
FAKE_AWS = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AWS_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
scenario = json.loads(os.environ["FAKE_AWS_SCENARIO"])
at = next(i for i, a in enumerate(args) if a in ("ecs", "logs"))
service, op = args[at], args[at + 1]
def arg(name):
    return args[args.index(name) + 1]
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/salon-prod@sha256:" + "ab" * 32
TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/"
if (service, op) == ("ecs", "describe-services"):
    print(json.dumps({{"services": [{{"taskDefinition": TD + "salon-prod-web:7",
        "networkConfiguration": {{"awsvpcConfiguration": {{
        "subnets": ["subnet-1"], "securityGroups": ["sg-1"], "assignPublicIp": "DISABLED"}}}}}}]}}))
elif (service, op) == ("ecs", "describe-task-definition"):
    wanted = arg("--task-definition")
    if wanted == "salon-prod-migrate":  # the family's latest revision
        arn, image = TD + "salon-prod-migrate:9", scenario.get("migrate_image", IMAGE)
    else:
        arn, image = wanted, IMAGE
    print(json.dumps({{"taskDefinition": {{"taskDefinitionArn": arn,
        "containerDefinitions": [{{"name": "x", "image": image}}]}}}}))
elif (service, op) == ("ecs", "run-task"):
    print(json.dumps(scenario["run_task"]))
elif (service, op) == ("ecs", "describe-tasks"):
    print(json.dumps({{"tasks": [{{"stoppedReason": "Essential container exited",
        "containers": [{{"name": "migrate", "exitCode": scenario["exit_code"]}}]}}]}}))
elif (service, op) == ("logs", "get-log-events"):
    print(json.dumps({{"events": [{{"message": "doctor: 0 problems"}}]}}))
elif (service, op) == ("ecs", "wait"):
    pass
else:
    sys.exit("unexpected call: " + " ".join(args))
"""

TASK = "arn:aws:ecs:eu-west-1:123456789012:task/salon-prod/0123abcd"
MIGRATE_TD = "arn:aws:ecs:eu-west-1:123456789012:task-definition/salon-prod-migrate:9"


def run(
    tmp_path: Path, scenario: dict[str, object], *args: str
) -> tuple[int, str, list[list[str]]]:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed (apt-get install jq): run-task.sh needs it")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS.format(python=sys.executable))
    fake.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "STACK": "salon-prod",
        "AWS_REGION": "eu-west-1",
        "FAKE_AWS_LOG": str(log),
        "FAKE_AWS_SCENARIO": json.dumps(scenario),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done.returncode, done.stdout + done.stderr, calls


def test_runs_the_command_on_the_migrate_task_and_passes_its_exit_code(tmp_path: Path) -> None:
    scenario = {"run_task": {"tasks": [{"taskArn": TASK}], "failures": []}, "exit_code": 3}
    code, output, calls = run(
        tmp_path,
        scenario,
        "salon",
        "apod",
        "import",
        "--date",
        "2024-01-01",
        "--user",
        "a@example.com",
    )
    assert code == 3, output
    assert "doctor: 0 problems" in output, "the task's log lines are printed"
    (run_task,) = [c for c in calls if "run-task" in c]
    # The exact revision whose image was checked, not the family (which may move meanwhile).
    assert run_task[run_task.index("--task-definition") + 1] == MIGRATE_TD
    overrides = json.loads(run_task[run_task.index("--overrides") + 1])
    assert overrides == {
        "containerOverrides": [
            {
                "name": "migrate",
                "command": [
                    "salon",
                    "apod",
                    "import",
                    "--date",
                    "2024-01-01",
                    "--user",
                    "a@example.com",
                ],
            }
        ]
    }
    network = json.loads(run_task[run_task.index("--network-configuration") + 1])
    assert network["awsvpcConfiguration"]["subnets"] == ["subnet-1"]
    (logs,) = [c for c in calls if "get-log-events" in c]
    assert "migrate/migrate/0123abcd" in logs


def test_ecs_failures_stop_the_script_with_the_reason(tmp_path: Path) -> None:
    scenario = {
        "run_task": {"tasks": [], "failures": [{"reason": "RESOURCE:CPU"}]},
        "exit_code": 0,
    }
    code, output, calls = run(tmp_path, scenario, "salon", "doctor")
    assert code == 1
    assert "RESOURCE:CPU" in output
    assert not [c for c in calls if "wait" in c], "nothing to wait for when no task started"


def test_only_salon_commands(tmp_path: Path) -> None:
    code, output, calls = run(tmp_path, {}, "bash", "-c", "id")
    assert code == 2 and "salon commands only" in output
    assert calls == []


def test_refuses_a_migrate_revision_that_is_not_the_running_image(tmp_path: Path) -> None:
    """A release that did not finish (or a Terraform apply with another image_tag) can leave a
    latest migrate revision with an image nobody released: run nothing on it."""
    scenario = {
        "run_task": {"tasks": [{"taskArn": TASK}], "failures": []},
        "exit_code": 0,
        "migrate_image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/salon-prod@sha256:"
        + "cd" * 32,
    }
    code, output, calls = run(tmp_path, scenario, "salon", "doctor")
    assert code == 1, output
    assert "refusing: " + MIGRATE_TD in output and "salon-prod-web runs" in output
    assert not [c for c in calls if "run-task" in c], "no task started"
