"""Fixtures for the deploy/ checks: the Terraform tree parsed with python-hcl2, an offline
Terraform CLI (providers from the local filesystem mirror only), and checkov in its own venv.

Tests that need the terraform binary, the provider mirror or checkov skip with the reason when
those are missing; the parse checks always run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The test modules import their helpers from deploy_support.py, beside this file
# (pytest runs with --import-mode=importlib, which puts no test folder on sys.path).
sys.path.insert(0, str(Path(__file__).parent))

from deploy_support import (
    DEPLOY,
    EXAMPLE,
    MIRROR,
    MODULES,
    TF_ROOT,
    Terraform,
    TfDir,
    load_dir,
    tf_cli_config,
)


@pytest.fixture(scope="session")
def module_dirs() -> dict[str, TfDir]:
    """Every module under deploy/terraform/modules, parsed."""
    dirs = {p.name: load_dir(p) for p in sorted(MODULES.iterdir()) if p.is_dir()}
    assert dirs, "no modules found"
    return dirs


@pytest.fixture(scope="session")
def example_dir() -> TfDir:
    return load_dir(EXAMPLE)


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform binary not found on PATH (install Terraform >= 1.11 to run this)")
    if not (MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip(
            f"no AWS provider in the filesystem mirror {MIRROR}: fill it with `terraform "
            f"-chdir=deploy/terraform/examples/production providers mirror {MIRROR}` "
            "or set TF_PLUGIN_MIRROR"
        )
    base = tmp_path_factory.mktemp("terraform")
    config = tf_cli_config(base / "cli.tfrc", MIRROR)
    workdir = base / "terraform"
    shutil.copytree(
        TF_ROOT,
        workdir,
        ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*"),
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_", "AWS_")) and key != "CHECKPOINT_DISABLE"
    }
    env.update(
        TF_CLI_CONFIG_FILE=str(config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        NO_COLOR="1",
        TF_DATA_DIR=".terraform",
    )
    return Terraform(binary=binary, env=env, workdir=workdir)


# ---------------------------------------------------------------- checkov


@pytest.fixture(scope="session")
def checkov() -> list[str]:
    """Command prefix that runs the pinned checkov from deploy/.tools/checkov-venv."""
    script = DEPLOY / "tools" / "checkov.sh"
    result = subprocess.run(
        ["bash", str(script), "--install-only"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.skip(f"checkov could not be installed into its venv: {result.stderr.strip()[-500:]}")
    return ["bash", str(script)]
