"""Offline structure checks of deploy/terraform with python-hcl2 (no terraform binary needed):
every file parses, every module follows the terraform-aws-modules layout, every variable used
is declared, every module output referenced exists, every module argument is a variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from deploy_support import EXAMPLE, LOCAL_EXAMPLE, MODULES, TF_ROOT, TfDir, load_dir, unquote

ALL_TF = sorted(p for p in TF_ROOT.rglob("*.tf") if ".terraform" not in p.parts)
VAR_REF = re.compile(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)")
LOCAL_REF = re.compile(r"\blocal\.([A-Za-z_][A-Za-z0-9_-]*)")
MODULE_REF = re.compile(
    r"\bmodule\.([A-Za-z_][A-Za-z0-9_-]*)(?:\[[^\]]*\])?\.([A-Za-z_][A-Za-z0-9_-]*)"
)
META_ARGS = {"source", "version", "count", "for_each", "providers", "depends_on", "__is_block__"}


def all_dirs() -> list[Path]:
    return sorted([p for p in MODULES.iterdir() if p.is_dir()] + [EXAMPLE, LOCAL_EXAMPLE, TF_ROOT])


def test_there_is_terraform_to_check() -> None:
    assert len(ALL_TF) > 30
    expected = {
        "network",
        "web",
        "worker",
        "storage",
        "queue",
        "auth",
        "database",
        "iam",
        "ecr",
        "logs",
        "api-gateway",
    }
    assert expected <= {p.name for p in MODULES.iterdir()}


@pytest.mark.parametrize("path", ALL_TF, ids=lambda p: str(p.relative_to(TF_ROOT)))
def test_every_file_parses(path: Path) -> None:
    import hcl2

    with path.open() as handle:
        parsed = hcl2.load(handle)
    assert isinstance(parsed, dict)


@pytest.mark.parametrize("name", sorted(p.name for p in MODULES.iterdir() if p.is_dir()))
def test_module_layout(name: str, module_dirs: dict[str, TfDir]) -> None:
    module = module_dirs[name]
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf"} <= set(module.files)
    (terraform,) = module.files["versions.tf"]["terraform"]
    (providers,) = terraform["required_providers"]
    aws = providers["aws"]
    assert unquote(aws["source"]) == "hashicorp/aws"
    assert unquote(aws["version"]) == "~> 5.100"
    assert "tags" in module.variables, f"module {name} takes no tags"
    assert module.outputs, f"module {name} has no outputs"


@pytest.mark.parametrize("path", all_dirs(), ids=lambda p: str(p.relative_to(TF_ROOT)) or ".")
def test_variables_have_type_and_description(path: Path) -> None:
    tf = load_dir(path)
    for name, body in tf.variables.items():
        assert "type" in body, f"{path.name}: variable {name} has no type"
        assert unquote(body.get("description", "")).strip(), f"{path.name}: {name} undescribed"
    for name, body in tf.outputs.items():
        assert unquote(body.get("description", "")).strip(), f"{path.name}: output {name}"


@pytest.mark.parametrize("path", all_dirs(), ids=lambda p: str(p.relative_to(TF_ROOT)) or ".")
def test_every_variable_and_local_used_is_declared(path: Path) -> None:
    tf = load_dir(path)
    used_vars: set[str] = set()
    used_locals: set[str] = set()
    for expr in tf.all_expressions():
        used_vars.update(VAR_REF.findall(expr))
        used_locals.update(LOCAL_REF.findall(expr))
    assert used_vars <= set(tf.variables), f"undeclared: {sorted(used_vars - set(tf.variables))}"
    assert used_locals <= set(tf.locals), f"undeclared: {sorted(used_locals - set(tf.locals))}"
    unused = set(tf.variables) - used_vars
    assert not unused, f"{path.name}: declared but never used: {sorted(unused)}"


def test_validation_blocks_are_common(module_dirs: dict[str, TfDir]) -> None:
    """terraform-aws-modules style: inputs that can be wrong are validated."""
    for name, module in module_dirs.items():
        validated = [v for v, body in module.variables.items() if "validation" in body]
        assert validated, f"module {name} validates none of its variables"


@pytest.mark.parametrize("root", [EXAMPLE, LOCAL_EXAMPLE], ids=lambda p: p.name)
def test_module_calls_match_module_interfaces(root: Path, module_dirs: dict[str, TfDir]) -> None:
    calls = load_dir(root).module_calls
    assert calls, "the example calls no modules"
    for call_name, body in calls.items():
        source = unquote(body["source"])
        target = (root / source).resolve()
        assert target.parent == MODULES.resolve(), f"{call_name}: {source} is not a local module"
        module = module_dirs[target.name]
        given = set(body) - META_ARGS
        declared = set(module.variables)
        assert given <= declared, f"module.{call_name}: unknown arguments {given - declared}"
        required = {n for n, v in module.variables.items() if "default" not in v}
        assert required <= given, f"module.{call_name}: missing {required - given}"


@pytest.mark.parametrize("root", [EXAMPLE, LOCAL_EXAMPLE], ids=lambda p: p.name)
def test_every_module_output_referenced_exists(root: Path, module_dirs: dict[str, TfDir]) -> None:
    tf = load_dir(root)
    calls = tf.module_calls
    references = set()
    for expr in tf.all_expressions():
        references.update(MODULE_REF.findall(expr))
    assert len(references) > 5
    for call_name, output in references:
        assert call_name in calls, f"module.{call_name} is not declared"
        target = (root / unquote(calls[call_name]["source"])).resolve().name
        assert output in module_dirs[target].outputs, f"module.{call_name}.{output} does not exist"


def test_terraform_tests_target_existing_modules() -> None:
    sources = set()
    for test_file in (TF_ROOT / "tests").glob("*.tftest.hcl"):
        text = test_file.read_text()
        assert 'mock_provider "aws"' in text, f"{test_file.name} would reach AWS"
        sources.update(re.findall(r'source\s*=\s*"\./([^"]+)"', text))
    assert sources, "no terraform test suites"
    for source in sources:
        assert (TF_ROOT / source).is_dir(), source
    covered = {Path(s).name for s in sources}
    assert {"queue", "worker", "storage", "iam", "web", "production"} <= covered


def test_no_secret_in_plain_environment(example_dir: TfDir) -> None:
    env = example_dir.locals["app_environment"]
    for name in env:
        assert not re.search(r"SECRET|PASSWORD|DATABASE_URL|API_KEY", name), name
    secrets = example_dir.locals["app_secrets"]
    for name in ("SALON_DATABASE_URL", "SALON_SECRET_KEY"):
        assert name in secrets


def test_state_never_holds_generated_secrets(module_dirs: dict[str, TfDir]) -> None:
    """Passwords are write-only (password_wo / secret_string_wo), never plain attributes."""
    for module in module_dirs.values():
        for body in module.resources("aws_secretsmanager_secret_version").values():
            assert "secret_string" not in body and "secret_string_wo" in body
        for body in module.resources("aws_db_instance").values():
            assert "password" not in body and "password_wo" in body
