"""`make typecheck` (mypy --strict) covers every bundled plugin and every example, not only the
core: they are what plugin authors copy, so an untyped seam there spreads (issue 16 item 8)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_files_cover_core_plugins_and_examples() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert config["strict"] is True
    files = set(config["files"])
    packages = {"core/salon"}
    for plugin in (ROOT / "plugins").iterdir():
        packages.update(
            str(package.relative_to(ROOT))
            for package in plugin.glob("salon_*")
            if (package / "__init__.py").exists()
        )
    examples = [e for e in (ROOT / "examples").iterdir() if (e / "pyproject.toml").exists()]
    for example in examples:
        (package,) = example.glob("salon_*/__init__.py")
        packages.add(str(package.parent.relative_to(ROOT)))
    assert len(packages) > 6

    def covered(package: str) -> bool:
        return any(package == entry or package.startswith(entry + "/") for entry in files)

    assert [p for p in sorted(packages) if not covered(p)] == []
