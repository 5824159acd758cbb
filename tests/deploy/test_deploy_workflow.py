"""The GitHub workflow, read as data (it cannot run here): its PostgreSQL tests really run, a
pull request gets a `terraform plan`, the image passes a scan gate before any release, and
every action is pinned to a commit."""

from __future__ import annotations

import re
from typing import Any

import yaml
from deploy_support import REPO

WORKFLOW = REPO / ".github" / "workflows" / "deploy.yml"


def jobs() -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return dict(workflow["jobs"])


def run_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def test_the_suite_gets_a_postgresql() -> None:
    test = jobs()["test"]
    assert "postgres" in test["services"]
    url = test["env"]["SALON_TEST_POSTGRES_URL"]
    assert url.startswith("postgresql+asyncpg://") and ":5432/" in url
    assert "make test" in run_text(test)


def test_pull_requests_get_a_terraform_plan() -> None:
    plan = jobs()["plan"]
    assert "pull_request" in plan["if"]
    assert "terraform plan" in run_text(plan) and "terraform init" in run_text(plan)
    assert plan["permissions"]["id-token"] == "write"


def test_the_image_passes_a_scan_gate_before_release() -> None:
    image = jobs()["image"]
    text = run_text(image)
    assert text.index("docker push") < text.index("image-scan-complete")
    assert "CRITICAL" in text and "HIGH" in text and "exit 1" in text
    assert jobs()["deploy"]["needs"] == "image"


def test_every_action_is_pinned_to_a_commit() -> None:
    uses = re.findall(r"uses:\s*(\S+)", WORKFLOW.read_text())
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
