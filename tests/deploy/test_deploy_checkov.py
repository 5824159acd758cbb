"""checkov (pinned, in its own venv, offline with --skip-download) passes with zero failed
checks on the Terraform, the Dockerfile and the GitHub Actions workflows; every deliberate
skip in the code carries a reason."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploy_support import DEPLOY, REPO, TF_ROOT

SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(:?)(.*)")
WORKFLOWS = REPO / ".github" / "workflows"


def run_checkov(checkov: list[str], *args: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [*checkov, *args, "--output", "json", "--quiet", "--compact"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    # exit 1 = failed checks (the JSON says which); anything else is a crash.
    assert result.returncode in (0, 1), result.stderr[-2000:]
    parsed = json.loads(result.stdout)
    reports = parsed if isinstance(parsed, list) else [parsed]
    return [r for r in reports if "results" in r]


def failures(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]


def test_terraform_and_dockerfile_have_no_failed_checks(checkov: list[str]) -> None:
    reports = run_checkov(
        checkov,
        "--directory",
        str(TF_ROOT),
        "--file",
        str(DEPLOY / "docker" / "Dockerfile"),
        "--framework",
        "terraform",
        "dockerfile",
    )
    assert not failures(reports), "\n".join(failures(reports))
    kinds = {r["check_type"]: r["summary"] for r in reports}
    assert kinds["terraform"]["passed"] > 200, kinds
    assert kinds["dockerfile"]["passed"] > 20, kinds


def test_workflows_have_no_failed_checks(checkov: list[str]) -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files, "no workflow in .github/workflows"
    reports = run_checkov(checkov, "--directory", str(WORKFLOWS), "--framework", "github_actions")
    assert not failures(reports), "\n".join(failures(reports))
    assert sum(r["summary"]["passed"] for r in reports) > 5


@pytest.mark.parametrize(
    "path",
    sorted([*TF_ROOT.rglob("*.tf"), DEPLOY / "docker" / "Dockerfile", *WORKFLOWS.glob("*.yml")]),
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_every_skip_has_a_reason(path: Path) -> None:
    for line in path.read_text().splitlines():
        match = SKIP.search(line)
        if match:
            check, colon, reason = match.groups()
            assert colon and len(reason.strip()) >= 20, f"{path}: skip of {check} gives no reason"
