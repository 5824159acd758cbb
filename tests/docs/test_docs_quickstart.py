"""README.md, "Quick start": the block run verbatim in a fresh clone, then a browser signs up
and uploads a photo through the page of the server it started, on a port of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import sign_up_and_upload, wait_ready
from .docblocks import section_blocks
from .docshell import Shell, is_long_running

pytestmark = [pytest.mark.docs, pytest.mark.timeout(1200)]

# Commands of the block that this suite does not run, and where they are proved instead.
RUN_ELSEWHERE = {
    "make test": "CI's entry point .ci/run runs it on a fresh clone (running it here would run "
    "the suite inside itself)",
}


def _bare(command: str) -> str:
    return command.split("#", 1)[0].strip()


def test_ci_runs_what_the_quick_start_leaves_to_it(clone: Path) -> None:
    ci = {line.strip() for line in (clone / ".ci" / "run").read_text().splitlines()}
    commands = {
        _bare(c) for b in section_blocks(clone, "README.md", "Quick start") for c in b.commands()
    }
    for command in RUN_ELSEWHERE:
        if command in commands:
            assert command in ci, f"README's `{command}` is not run by .ci/run"


def test_quick_start(clone: Path, shell: Shell, browser: Any) -> None:
    url = f"http://127.0.0.1:{shell.start_env['PORT']}"
    servers = []
    for block in section_blocks(clone, "README.md", "Quick start"):
        for command in block.commands():
            if _bare(command) in RUN_ELSEWHERE:
                continue
            if is_long_running(command):
                servers.append(shell.start(command))
            else:
                shell.run(command)
    assert len(servers) == 1, f"the quick start should start one server, it started {servers}"
    wait_ready(url, servers[0])

    assert httpx.get(f"{url}/schema", timeout=10).status_code == 200
    sign_up_and_upload(browser, url, "quickstart")
    # The embedded defaults the README names: SQLite and the photos under ./data.
    assert (clone / "data" / "salon.db").is_file()
    assert any(p.is_file() for p in (clone / "data" / "media").rglob("*"))
