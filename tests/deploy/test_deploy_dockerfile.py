"""The one image, checked statically (no Docker engine here): multi-stage, pinned slim base,
non-root, one ffmpeg (from the lock), dependencies in their own layer, no HEALTHCHECK the worker
could not pass, no build tools in the final stage, no migrations at start."""

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


def default_base() -> str:
    """The default of the global ``ARG BASE`` (before the first FROM): what production builds."""
    head = DOCKERFILE.read_text().split("\nFROM ", 1)[0]
    found = re.findall(r"^ARG BASE=(\S+)$", head, flags=re.MULTILINE)
    assert len(found) == 1, "the base is one build argument, declared before the first FROM"
    return found[0]


def test_multi_stage_with_pinned_slim_base() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    image = default_base()
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", image)
    bases = {stage[0].split()[1] for stage in all_stages}
    assert bases == {"${BASE}"}, "the venv is copied between stages: both need the same base"


def test_final_stage_is_slim_and_non_root() -> None:
    final = stages()[-1]
    text = "\n".join(final)
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("0", "root")
    for tool in ("gcc", "build-essential", "make ", "git", "uv sync", "pip install", "apt-get"):
        assert tool not in text, f"{tool!r} in the final stage"
    assert "COPY --from=build /opt/venv /opt/venv" in text


def test_one_ffmpeg_from_the_lock() -> None:
    """The plugin's imageio-ffmpeg ships the only ffmpeg; Debian's would be a second copy."""
    plugin = (REPO / "plugins" / "ffmpeg_video" / "pyproject.toml").read_text()
    assert "imageio-ffmpeg" in plugin
    assert "install -y" not in DOCKERFILE.read_text()


def test_dependencies_are_a_layer_of_their_own() -> None:
    """Every workspace member's pyproject.toml is copied, and the dependencies installed,
    before any source: a code change must not reinstall every dependency."""
    import tomllib

    build = stages()[0]
    first_sync = next(i for i, line in enumerate(build) if line.startswith("RUN uv sync"))
    assert "--no-install-workspace" in build[first_sync]
    before = "\n".join(build[:first_sync])
    members = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    for pattern in members["members"]:
        for member in sorted(REPO.glob(pattern)):
            if (member / "pyproject.toml").is_file():
                rel = f"{member.relative_to(REPO)}/pyproject.toml"
                assert f"COPY {rel} {rel}" in before, f"{rel} is not copied before uv sync"
    assert "COPY core/ core/" not in before and "COPY plugins/ plugins/" not in before


def test_no_healthcheck_the_worker_cannot_pass_and_commands() -> None:
    final = "\n".join(stages()[-1])
    assert "HEALTHCHECK" not in final, "the worker runs from this image and serves no /health"
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
