"""deploy/README.md walked against the code: the commands it gives an operator must be ones the
code accepts (the AWS blocks need an account, so nothing runs them; these checks read them)."""

from __future__ import annotations

import gzip
import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
from deploy_support import DEPLOY, EXAMPLE, MODULES

README = DEPLOY / "README.md"
RUN_TASK = DEPLOY / "tools" / "run-task.sh"


def _commands(text: str) -> list[str]:
    """Shell lines of ``text`` with their backslash continuations joined; in Markdown, only the
    fenced blocks' lines (prose mentions commands in part)."""
    if text.startswith("#!"):
        code = text
    else:
        code = "\n".join(re.findall(r"^```[\w-]*\n(.*?)^```", text, re.M | re.S))
    return [line.strip() for line in re.sub(r"\\\n\s*", " ", code).splitlines()]


def test_tfvars_example_holds_what_must_outlive_one_apply() -> None:
    """image_tag and the rotation counters live in terraform.tfvars: a -var lasts one apply,
    and the next plain apply would register task definitions with another image or rotate a
    password again."""
    import hcl2

    with (EXAMPLE / "terraform.tfvars.example").open() as handle:
        tfvars = hcl2.load(handle)
    for name in ("image_tag", "db_password_version", "secret_key_version"):
        assert name in tfvars, f"{name} is not in terraform.tfvars.example"
    readme = README.read_text()
    for name in ("image_tag", "db_password_version", "secret_key_version"):
        assert not re.search(rf"-var[ =]+{name}", readme), f"README passes {name} with -var"


def _botocore_operations(service: str) -> dict[str, Any]:
    import botocore

    data = Path(botocore.__file__).parent / "data" / service
    (model,) = sorted(data.glob("*/service-2.json*"))[-1:]
    raw = gzip.decompress(model.read_bytes()) if model.suffix == ".gz" else model.read_bytes()
    return json.loads(raw)


def test_cognito_commands_exist_and_make_a_user_who_can_sign_in() -> None:
    """A user created with a mailed temporary password is FORCE_CHANGE_PASSWORD, which Salon's
    sign-in cannot complete: the README must suppress the mail and set a permanent password,
    with flags the CLI (botocore's model) really has."""
    model = _botocore_operations("cognito-idp")
    cognito = [c for c in _commands(README.read_text()) if "aws cognito-idp " in c]
    assert cognito, "the README no longer shows how to create a Cognito user"
    seen: dict[str, list[str]] = {}
    for command in cognito:
        words = shlex.split(command[command.index("aws cognito-idp ") :], comments=True)
        operation = "".join(part.capitalize() for part in words[2].split("-"))
        assert operation in model["operations"], f"no cognito-idp {words[2]}"
        members = model["shapes"][model["operations"][operation]["input"]["shape"]]["members"]
        flags = [w for w in words[3:] if w.startswith("--")]
        for flag in flags:
            name = "".join(p.capitalize() for p in flag[2:].removeprefix("no-").split("-"))
            assert name in members, f"cognito-idp {words[2]} has no {flag}"
        seen.setdefault(words[2], []).extend(words[3:])
    create = seen["admin-create-user"]
    assert create[create.index("--message-action") + 1] == "SUPPRESS"
    assert "--permanent" in seen["admin-set-user-password"]


def _salon_command(args: list[str]) -> None:
    """Parse ``salon <args>`` as the CLI would, without running it (click checks required
    options and unknown ones)."""
    from salon.cli import cli

    ctx = click.Context(cli, info_name="salon")
    command: click.Command = cli
    name = "salon"
    while isinstance(command, click.Group):
        found_name, found, args = command.resolve_command(ctx, args)
        assert found is not None and found_name is not None
        name, command = found_name, found
        ctx = click.Context(command, info_name=name, parent=ctx)
    command.make_context(name, list(args), parent=ctx.parent)


def _run_task_examples() -> list[tuple[str, list[str]]]:
    found = []
    for source in (README, RUN_TASK):
        for command in _commands(source.read_text()):
            if source == RUN_TASK:  # its header's usage lines, not its code
                if not command.startswith("#"):
                    continue
                command = command.lstrip("#").strip()
            if "run-task.sh salon " in command:
                words = shlex.split(command.split("run-task.sh ", 1)[1], comments=True)
                found.append((source.name, words[1:]))
    return found


def test_every_run_task_example_is_a_valid_salon_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SALON_DATA_DIR", str(tmp_path))
    examples = _run_task_examples()
    assert any(args[:2] == ["apod", "import"] for _, args in examples), examples
    for source, args in examples:
        try:
            _salon_command(args)
        except click.UsageError as exc:
            pytest.fail(f"{source}: run-task.sh salon {' '.join(args)}: {exc.format_message()}")


# What each `aws ... wait <waiter>` polls.
_WAITERS = {
    ("ecs", "tasks-stopped"): "ecs:DescribeTasks",
    ("ecs", "services-stable"): "ecs:DescribeServices",
    ("ecr", "image-scan-complete"): "ecr:DescribeImageScanFindings",
}


def _ci_policy() -> dict[str, Any]:
    text = README.read_text()
    section = text[text.index("## CI: GitHub Actions with OIDC") :]
    block = re.search(r"^( *)```json\n(.*?)^\1```", section, re.M | re.S)
    assert block, "no IAM policy (```json) in the README's CI section"
    policy: dict[str, Any] = json.loads(block.group(2))
    return policy


def _aws_calls(text: str, call: str) -> set[str]:
    """IAM actions of the `<call> <service> <operation>` lines of a script."""
    actions = set()
    for service, operation, waiter in re.findall(
        rf"\b{call} (ecs|ecr|iam|logs) ([a-z-]+)(?: ([a-z-]+))?", text
    ):
        if operation == "wait":
            actions.add(_WAITERS[(service, waiter)])
        else:
            actions.add(f"{service}:" + "".join(p.capitalize() for p in operation.split("-")))
    return actions


def _allowed(policy: dict[str, Any]) -> dict[str, list[Any]]:
    """Each allowed action with the Resource entries of the statements allowing it."""
    allowed: dict[str, list[Any]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            allowed.setdefault(action, []).append(statement["Resource"])
    return allowed


def test_the_ci_policy_covers_every_call_the_release_makes() -> None:
    allowed = _allowed(_ci_policy())
    release = (DEPLOY / "tools" / "release.sh").read_text()
    workflow = (DEPLOY.parent / ".github" / "workflows" / "deploy.yml").read_text()
    needed = _aws_calls(release, "aws_") | _aws_calls(workflow, "aws")
    assert {"ecs:RunTask", "ecs:UpdateService", "ecr:DescribeImageScanFindings"} <= needed
    needed |= {  # what the CLI calls do not name: login, push, tags copied on register
        "ecr:GetAuthorizationToken",
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "iam:PassRole",
    }
    if "--include TAGS" in release and ".tags = $tags" in release:
        needed.add("ecs:TagResource")
    missing = needed - set(allowed)
    assert not missing, f"the README's CI policy lacks {sorted(missing)}"
    # No resource-level permissions for these: anything but "*" is a silent AccessDenied.
    for action in (
        "ecs:DescribeTaskDefinition",
        "ecs:RegisterTaskDefinition",
        "ecs:DeregisterTaskDefinition",
    ):
        assert "*" in allowed[action], f"{action} needs Resource *"


def test_the_ci_policy_passes_every_role_the_task_definitions_name() -> None:
    """release.sh registers the web, worker and migrate definitions: PassRole must cover the
    execution role and each task role, the migrate task's ops role included."""
    iam = (MODULES / "iam" / "main.tf").read_text()
    queue_roles = re.search(r"queue_actions = \{(.*?)^  \}", iam, re.M | re.S)
    assert queue_roles
    tasks = re.findall(r"^\s+(\w+)\s+=\s+concat", queue_roles.group(1), re.M)
    assert "ops" in tasks, tasks
    roles = {"<name>-execution"} | {f"<name>-{task}-task" for task in tasks}
    (resources,) = _allowed(_ci_policy())["iam:PassRole"]
    passed = {arn.rsplit("/", 1)[-1] for arn in resources}
    assert roles <= passed, f"PassRole misses {sorted(roles - passed)}"


def test_the_first_deployments_tag_edit_sets_image_tag(tmp_path: Path) -> None:
    """The README's step 1 writes the pushed tag into terraform.tfvars with sed: run that very
    line on a copy of the example and read the result back."""
    import shutil
    import subprocess

    import hcl2

    (edit,) = [
        c for c in _commands(README.read_text()) if c.startswith("sed ") and "image_tag" in c
    ]
    shutil.copy(EXAMPLE / "terraform.tfvars.example", tmp_path / "terraform.tfvars")
    subprocess.run(
        ["bash", "-c", edit],
        cwd=tmp_path,
        env={"TAG": "0123456789ab", "PATH": "/usr/bin:/bin"},
        check=True,
    )
    with (tmp_path / "terraform.tfvars").open() as handle:
        tfvars = hcl2.load(handle)
    assert tfvars["image_tag"].strip('"') == "0123456789ab"
    assert tfvars["db_password_version"] == 1, "the other settings are untouched"
