"""docs/plugins.md, "An image source with its own page": its shell block run verbatim in a
fresh clone (the workspace installs the example, whose tests then pass)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .docblocks import section_blocks
from .docshell import Shell

pytestmark = [pytest.mark.docs, pytest.mark.timeout(1200)]

SECTION = "An image source with its own page"


def test_the_example_installs_and_passes_its_tests(clone: Path, shell: Shell) -> None:
    outputs = [
        shell.run(command).output()
        for block in section_blocks(clone, "docs/plugins.md", SECTION)
        for command in block.commands()
    ]
    assert len(outputs) == 2, outputs
    assert re.search(r"\b\d+ passed\b", outputs[-1]), outputs[-1][-2000:]
    assert "failed" not in outputs[-1]
    assert (clone / ".venv" / "bin" / "salon").exists()
