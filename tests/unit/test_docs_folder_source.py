"""docs/plugins.md, "An image source with its own page", quotes examples/salon-folder-source:
each code block of the section is in the example's files word for word, so the guide shows
code that its tests run (the section's shell block is run by tests/docs)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
EXAMPLE = ROOT / "examples" / "salon-folder-source"
SECTION = "## An image source with its own page\n"


def _section() -> str:
    text = GUIDE.read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def _blank_runs(text: str) -> str:
    return re.sub(r"\n\n\n+", "\n\n", text)


def test_the_sections_code_is_the_examples() -> None:
    blocks = re.findall(r"```(python|js)\n(.*?)```", _section(), flags=re.DOTALL)
    assert len(blocks) == 4, [lang for lang, _ in blocks]
    sources = {
        "python": [_blank_runs(p.read_text()) for p in EXAMPLE.rglob("*.py")],
        "js": [_blank_runs(p.read_text()) for p in EXAMPLE.rglob("*.js")],
    }
    for lang, code in blocks:
        # A method is quoted without its class's indentation (the guide's blocks must parse),
        # and the formatter puts two blank lines between what are then top-level functions.
        code = _blank_runs(code)
        quoted = (code, textwrap.indent(code, "    ", lambda line: bool(line.strip())))
        found = any(q in text for q in quoted for text in sources[lang])
        assert found, f"not in the example:\n{code}"


def test_the_layout_lists_the_examples_files() -> None:
    [layout] = re.findall(r"```text\n(examples/salon-folder-source/.*?)```", _section(), re.DOTALL)
    for line in layout.splitlines()[1:]:
        path = line.split()[0]
        assert (EXAMPLE / path).exists(), path
