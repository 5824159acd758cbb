"""The shell blocks of the Markdown docs, as the docs-as-tests suite runs them.

Convention (also stated in README.md, section Tests):

* a fence opened with ```` ```sh ```` is a script a test runs verbatim, one command after
  another, in one shell (``cd`` and ``export`` carry over to the next command and block);
* a fence opened with ```` ```console ```` is a transcript: lines starting with ``$ `` are the
  commands, run the same way; the other lines are sample output and are not compared;
* any other fence (```` ```bash ````, ```` ```text ````, ```` ```python ````, a bare
  ```` ``` ````) is illustrative and never run: commands that need a real AWS account, say.

Each runnable block belongs to the section (heading) it appears under; a test asks for the
blocks of a section, so when the text changes the test runs the new text, and
``test_docs_blocks.py`` fails when a runnable block appears that no test runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

RUNNABLE = ("sh", "console")
PROMPT = "$ "
_FENCE = re.compile(r"^(`{3,}|~{3,})\s*([\w+-]*)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# A line the shell continues on the next: a backslash, or a trailing `&&`, `||` or `|`
# (the latter three may carry a trailing comment, as bash allows).
_CONTINUES = re.compile(r"(\\|(&&|\|\||\|)\s*(#.*)?)$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its document, the heading above it, its 1-based opening line."""

    doc: str
    section: str
    line: int
    lang: str
    text: str

    @property
    def runnable(self) -> bool:
        return self.lang in RUNNABLE

    def commands(self) -> list[str]:
        """The commands in order: a command ends at a line not ending in a backslash, `&&`,
        `||` or `|` (so a `&&` chain, which stops at its first failure, is one command).
        Blank lines and lines that are only a comment are dropped; a trailing comment stays
        (the shell ignores it)."""
        lines = self.text.splitlines()
        if self.lang == "console":
            lines = _console_commands(lines)
        commands: list[str] = []
        pending: list[str] = []
        for line in lines:
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            pending.append(line)
            if not _CONTINUES.search(line.rstrip()):
                commands.append("\n".join(pending))
                pending = []
        if pending:
            commands.append("\n".join(pending))
        return commands

    def where(self) -> str:
        return f"{self.doc}:{self.line} ({self.section})"


def _console_commands(lines: list[str]) -> list[str]:
    """The ``$ `` lines of a transcript without the prompt, with their continuation lines."""
    kept: list[str] = []
    continuing = False
    for line in lines:
        if continuing:
            kept.append(line)
        elif line.startswith(PROMPT):
            kept.append(line[len(PROMPT) :])
        else:
            continue
        continuing = line.rstrip().endswith("\\")
    return kept


def parse(doc: str, text: str) -> list[Block]:
    """Every fenced block of a Markdown text, runnable or not."""
    blocks: list[Block] = []
    section = ""
    fence: tuple[str, str, int] | None = None  # (marker, lang, opening line)
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if fence is None:
            opened = _FENCE.match(line)
            heading = _HEADING.match(line)
            if opened:
                fence, body = (opened.group(1), opened.group(2).lower(), number), []
            elif heading:
                section = heading.group(2)
            continue
        marker, lang, start = fence
        if line.strip().startswith(marker[0] * len(marker)) and not line.strip().strip(marker[0]):
            blocks.append(Block(doc, section, start, lang, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    if fence is not None:
        raise ValueError(f"{doc}:{fence[2]}: a fenced block is never closed")
    return blocks


def runnable_blocks(root: Path, doc: str) -> list[Block]:
    return [b for b in parse(doc, (root / doc).read_text()) if b.runnable]


def section_blocks(root: Path, doc: str, section: str) -> list[Block]:
    """The runnable blocks under ``section`` of ``doc``; fails when there are none (a renamed
    section must not turn its test into one that runs nothing)."""
    found = [b for b in runnable_blocks(root, doc) if b.section == section]
    if not found:
        raise LookupError(f"{doc} has no ```sh or ```console block under the heading {section!r}")
    return found
