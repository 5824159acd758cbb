"""Terraform itself, offline: fmt, init from the local provider mirror, validate, and the
`terraform test` suites (mock_provider "aws") of deploy/terraform/tests."""

from __future__ import annotations

import re

import pytest
from deploy_support import TF_ROOT, Terraform


def test_fmt_is_clean(terraform: Terraform) -> None:
    result = terraform.run("fmt", "-check", "-recursive", "-diff", str(TF_ROOT), cwd=TF_ROOT)
    assert result.returncode == 0, (
        f"run `terraform fmt -recursive deploy/terraform`:\n{result.stdout}"
    )


def test_production_example_inits_offline_and_validates(terraform: Terraform) -> None:
    example = terraform.workdir / "examples" / "production"
    terraform.ok("init", "-backend=false", "-input=false", cwd=example)
    installed = example / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws"
    assert [p.name for p in installed.iterdir()] == ["5.100.0"], "provider not from the mirror"
    out = terraform.ok("validate", "-no-color", cwd=example)
    assert "The configuration is valid" in out


# Over a hundred mocked plans: about 2 minutes on a quiet 2-core machine, 4 under load; the
# suite-wide 300 s would cut it off before terraform's own limit could say what hung.
@pytest.mark.timeout(660)
def test_terraform_test_suites_pass(terraform: Terraform) -> None:
    root = terraform.workdir
    terraform.ok("init", "-backend=false", "-input=false", cwd=root)
    result = terraform.run("test", "-no-color", cwd=root, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = re.search(r"Success! (\d+) passed, 0 failed", output)
    assert summary, output
    # Every suite ran: queue, storage, iam, worker, web and the whole production example.
    assert int(summary.group(1)) >= 14, output
    for suite in (
        "queue",
        "storage",
        "iam",
        "worker",
        "web",
        "network",
        "monitoring",
        "production",
    ):
        assert f"tests/{suite}.tftest.hcl... pass" in output, output
