"""The repository is self-contained: no tracked file sends a reader (or a script) to a path
outside it, such as notes kept next to the checkout or one machine's folders."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What points outside the repository: a sibling `shared/` folder of notes, this project's
# build machines' work and home folders, and a provider mirror that only some machines have.
OUTSIDE = re.compile(
    r"\.\./shared\b"
    r"|\bshared/[A-Za-z0-9_-]+\.md"
    r"|/work/"
    r"|/root/"
    r"|/home/[a-z]"
    r"|/opt/tf-plugins"
)
# Where an outside path is fine, and why.
ALLOWED = {
    # The test-suite's last fallback for a machine-wide Terraform provider mirror (CI images).
    ("tests/deploy/deploy_support.py", "/opt/tf-plugins"),
    ("tests/docs/test_docs_deploy.py", "/opt/tf-plugins"),
    # tf-offline.sh looks there last for a provider mirror (CI images carry one machine-wide),
    # and deploy/README.md documents the order it looks in.
    ("deploy/tools/tf-offline.sh", "/opt/tf-plugins"),
    ("deploy/README.md", "/opt/tf-plugins"),
}
SKIP = {"uv.lock", "tests/unit/test_repo_self_contained.py"}


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout (or git is missing): no list of tracked files")
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True
    )
    return [name for name in listed.stdout.decode().split("\0") if name]


def test_no_tracked_file_refers_outside_the_repository() -> None:
    found = []
    for name in tracked_files():
        if name in SKIP:
            continue
        path = REPO / name
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for match in OUTSIDE.finditer(line):
                if (name, match.group(0)) not in ALLOWED:
                    found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "references outside the repository:\n" + "\n".join(found)


def test_the_pattern_catches_what_it_is_for() -> None:
    for bad in (
        # Built from parts, so that this file itself names no real outside path.
        "see /work/" + "shared/NOTES.md",
        "(see `shared/NOTES.md`)",
        ".." + "/shared/notes.md",
        'path = "/opt/tf-plugins"',
        "/root/.pyenv/versions/3.13.0/bin/python",
    ):
        assert OUTSIDE.search(bad), bad
    for fine in ("deploy/localstack/README.md", "shared by every worker", "$HOME/.pyenv"):
        assert not OUTSIDE.search(fine), fine
