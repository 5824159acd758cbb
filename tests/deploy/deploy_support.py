"""Helpers for the deploy/ checks (tests/deploy): the Terraform tree parsed with
python-hcl2, and an offline Terraform CLI (providers from the local filesystem mirror only).

Everything here runs offline. Tests that need the terraform binary or the provider mirror skip
with the reason when those are missing; the parse checks always run.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
TF_ROOT = DEPLOY / "terraform"
MODULES = TF_ROOT / "modules"
EXAMPLE = TF_ROOT / "examples" / "production"
LOCAL_EXAMPLE = TF_ROOT / "examples" / "localstack"


def _provider_mirror() -> Path:
    """Where `terraform init` finds providers offline: the first of SALON_TEST_TF_MIRROR,
    TF_PLUGIN_MIRROR (as deploy/tools/tf-offline.sh reads it), the repository's own
    deploy/.tools/tf-plugins, and a machine-wide mirror that some CI images carry."""
    for candidate in (
        os.environ.get("SALON_TEST_TF_MIRROR"),
        os.environ.get("TF_PLUGIN_MIRROR"),
        str(DEPLOY / ".tools" / "tf-plugins"),
        "/opt/tf-plugins",
    ):
        if candidate and (Path(candidate) / "registry.terraform.io").is_dir():
            return Path(candidate)
    return DEPLOY / ".tools" / "tf-plugins"


MIRROR = _provider_mirror()

_INTERP = re.compile(r"\$\{")


def unquote(value: Any) -> Any:
    """python-hcl2 >= 8 keeps the quotes of string literals and block labels; drop them."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def expressions(node: Any) -> Iterator[str]:
    """Every string inside ``node`` that holds an interpolation or expression (``${...}``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "__comments__":
                continue
            yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)
    elif isinstance(node, str) and _INTERP.search(node):
        yield node


@dataclass
class TfDir:
    """One Terraform configuration folder (a module or a root), parsed."""

    path: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def blocks(self, kind: str) -> Iterator[dict[str, Any]]:
        for parsed in self.files.values():
            yield from parsed.get(kind, [])

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {unquote(k): v for block in self.blocks("variable") for k, v in block.items()}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return {unquote(k): v for block in self.blocks("output") for k, v in block.items()}

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self.blocks("locals"):
            merged.update({k: v for k, v in block.items() if not k.startswith("__")})
        return merged

    @property
    def module_calls(self) -> dict[str, dict[str, Any]]:
        return {unquote(k): v for block in self.blocks("module") for k, v in block.items()}

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for block in self.blocks("resource"):
            for rtype, named in block.items():
                if unquote(rtype) == type_:
                    found.update({unquote(n): body for n, body in named.items()})
        return found

    def all_expressions(self) -> Iterator[str]:
        for parsed in self.files.values():
            yield from expressions(parsed)


def load_dir(path: Path) -> TfDir:
    import hcl2

    tf = TfDir(path)
    for file in sorted(path.glob("*.tf")):
        with file.open() as handle:
            tf.files[file.name] = hcl2.load(handle)
    return tf


# ---------------------------------------------------------------- terraform CLI


@dataclass
class Terraform:
    """The terraform binary with an offline CLI configuration of its own."""

    binary: str
    env: dict[str, str]
    workdir: Path  # a private copy of deploy/terraform, so init never writes into the repo

    def run(self, *args: str, cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, *args: str, cwd: Path, timeout: int = 240) -> str:
        result = self.run(*args, cwd=cwd, timeout=timeout)
        assert result.returncode == 0, (
            f"terraform {' '.join(args)} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout


def tf_cli_config(path: Path, mirror: Path) -> Path:
    """A CLI config that installs hashicorp/* only from the filesystem mirror."""
    path.write_text(
        "disable_checkpoint = true\n"
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n}\n'
    )
    return path
