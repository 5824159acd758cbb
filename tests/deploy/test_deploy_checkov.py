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
    # One JSON document per scanned folder, each a report or a list of reports.
    reports: list[dict[str, Any]] = []
    decoder, text, pos = json.JSONDecoder(), result.stdout, 0
    while pos < len(text.rstrip()):
        parsed, end = decoder.raw_decode(text, pos)
        reports.extend(parsed if isinstance(parsed, list) else [parsed])
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return [r for r in reports if "results" in r]


def failures(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]


@pytest.fixture(scope="module")
def reports(checkov: list[str]) -> dict[str, list[dict[str, Any]]]:
    """One checkov run (it takes seconds to start) over the three frameworks, by type."""
    assert sorted(WORKFLOWS.glob("*.yml")), "no workflow in .github/workflows"
    found = run_checkov(
        checkov,
        *("--directory", str(TF_ROOT)),
        *("--directory", str(DEPLOY / "docker")),
        *("--directory", str(WORKFLOWS)),
        *("--framework", "terraform", "dockerfile", "github_actions"),
        # The LocalStack example is a local test stack, never deployed: it uses SSE-S3 because
        # LocalStack community has no KMS. Production's use of the same modules is checked.
        *("--skip-path", "examples/localstack"),
    )
    by_type: dict[str, list[dict[str, Any]]] = {}
    for report in found:
        by_type.setdefault(report["check_type"], []).append(report)
    return by_type


@pytest.mark.parametrize(
    ("framework", "minimum_passed"),
    [("terraform", 200), ("dockerfile", 20), ("github_actions", 20)],
)
def test_no_failed_checks(
    reports: dict[str, list[dict[str, Any]]], framework: str, minimum_passed: int
) -> None:
    assert framework in reports, f"checkov scanned no {framework} files"
    assert not failures(reports[framework]), "\n".join(failures(reports[framework]))
    assert sum(r["summary"]["passed"] for r in reports[framework]) >= minimum_passed


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
