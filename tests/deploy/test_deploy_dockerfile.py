"""The one image, checked statically (no Docker engine here): multi-stage, pinned slim base,
non-root, ffmpeg, a HEALTHCHECK, no build tools in the final stage, no migrations at start."""

from __future__ import annotations

import re

import pytest
from deploy_support import DEPLOY, REPO

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"


def stages() -> list[list[str]]:
    """Instructions per stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    result: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append([])
        if result:
            result[-1].append(line)
    return result


def test_multi_stage_with_pinned_slim_base() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    for stage in all_stages:
        image = stage[0].split()[1]
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image)
    bases = {stage[0].split()[1] for stage in all_stages}
    assert len(bases) == 1, "the venv is copied between stages: both need the same base"


def test_final_stage_is_slim_and_non_root() -> None:
    final = stages()[-1]
    text = "\n".join(final)
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    assert "ffmpeg" in text and "--no-install-recommends" in text
    for tool in ("gcc", "build-essential", "make ", "git", "uv sync", "pip install"):
        assert tool not in text, f"{tool!r} in the final stage"
    assert "COPY --from=build /opt/venv /opt/venv" in text
    assert "rm -rf /var/lib/apt/lists" in text


def test_healthcheck_and_commands() -> None:
    final = "\n".join(stages()[-1])
    assert re.search(r"HEALTHCHECK .*CMD .*/health", final)
    cmd = [line for line in stages()[-1] if line.startswith(("CMD", "ENTRYPOINT"))]
    assert cmd == ['CMD ["salon", "serve", "--host", "0.0.0.0", "--port", "8000"]']
    assert "db upgrade" not in "".join(cmd), "migrations run as a one-off task, not at start"


def test_build_is_locked_and_production_only() -> None:
    build = "\n".join(stages()[0])
    assert "uv sync --frozen --no-dev --all-packages --no-editable" in build
    assert re.search(r"UV_VERSION=\d+\.\d+\.\d+", build) and "uv==${UV_VERSION}" in build


@pytest.mark.parametrize("path", ["pyproject.toml", "uv.lock", "core/pyproject.toml"])
def test_build_inputs_exist(path: str) -> None:
    assert (REPO / path).is_file()
    assert path.split("/")[0] in (DEPLOY / "docker" / "Dockerfile").read_text()
