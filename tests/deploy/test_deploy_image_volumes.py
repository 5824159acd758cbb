"""The image against the task definitions' mounts: with a read-only root filesystem and user
10001, every path a task definition mounts an (empty) Fargate volume at must be a VOLUME of the
image, made beforehand with an owner or mode user 10001 can write. Without VOLUME, Fargate makes
the mount root's 0755 and Salon cannot write its data folder or a temporary file."""

from __future__ import annotations

import json
import re

from deploy_support import DEPLOY, MODULES

DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
_CONTAINER_PATH = re.compile(r"""containerPath["']?\s*[=:]\s*["']([^"']+)["']""")


def _mount_paths() -> dict[str, set[str]]:
    """containerPath of every mountPoint, per task definition (module/resource), read from the
    modules' Terraform: inline in the container definition, or through a local it names."""
    found: dict[str, set[str]] = {}
    for module in sorted(p for p in MODULES.iterdir() if p.is_dir()):
        text = "\n".join(f.read_text() for f in sorted(module.glob("*.tf")))
        blocks = re.split(r'^resource "', text, flags=re.M)
        local_mounts = re.search(r"^\s*mounts\s*=\s*\[(.*?)^\s*\]", text, re.M | re.S)
        for block in blocks[1:]:
            head = re.match(r'aws_ecs_task_definition" "([\w-]+)"', block)
            if not head:
                continue
            paths = set(_CONTAINER_PATH.findall(block))
            if "local.mounts" in block or "local.container_base" in block:
                assert local_mounts, f"{module.name}: local.mounts not found"
                paths |= set(_CONTAINER_PATH.findall(local_mounts.group(1)))
            found[f"{module.name}/{head.group(1)}"] = paths
    return found


def _final_stage() -> list[str]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stage: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.upper().startswith("FROM "):
            stage = []
        if line and not line.startswith("#"):
            stage.append(line)
    return stage


def _volumes(stage: list[str]) -> tuple[int, set[str]]:
    for index, line in enumerate(stage):
        if line.upper().startswith("VOLUME "):
            spec = line.split(None, 1)[1].strip()
            paths = json.loads(spec) if spec.startswith("[") else spec.split()
            return index, set(paths)
    return -1, set()


def test_every_mount_point_is_an_image_volume() -> None:
    mounts = _mount_paths()
    expected = {"web/web", "web/migrate", "worker/this"}
    assert expected <= set(mounts), mounts
    assert all(mounts[f] for f in expected), f"no mount points found: {mounts}"
    _, volumes = _volumes(_final_stage())
    for family, paths in mounts.items():
        missing = paths - volumes
        assert not missing, f"{family} mounts {sorted(missing)}, not a VOLUME of the image"


def test_volumes_are_made_writable_for_the_app_user_before_they_are_declared() -> None:
    stage = _final_stage()
    at, volumes = _volumes(stage)
    assert at >= 0, "no VOLUME in the final stage"
    before = "\n".join(stage[:at])
    for path in volumes:
        made = re.search(
            rf"install -d (?:-o salon -g salon -m 0?7[57]0|-m 1777) {re.escape(path)}\b", before
        )
        assert made, f"{path} is not made for user salon (or sticky 1777) before VOLUME"
    user = [line for line in stage if line.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] == "10001"
