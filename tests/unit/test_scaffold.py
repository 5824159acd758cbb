"""``salon new-plugin``: every kind's skeleton parses, declares the right entry point, has a
stub for every Protocol method, and its tests collect against the contract suite."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from salon import hookspecs
from salon.cli import cli
from salon.scaffold import KINDS, ScaffoldError, names_for, new_plugin

ALL_KINDS = sorted(KINDS)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_skeleton_parses_and_declares_its_entry_point(tmp_path: Path, kind: str) -> None:
    root = new_plugin(f"photo-{kind}", kind, tmp_path)
    names = names_for(f"photo-{kind}", kind)
    assert root == tmp_path / f"salon-photo-{kind}"
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"salon-photo-{kind}"
    assert project["project"]["entry-points"]["salon"] == {names.entry_point: names.package}
    assert project["build-system"]["build-backend"] == "hatchling.build"
    assert any(dep.startswith("salon") for dep in project["project"]["dependencies"])
    for path in root.rglob("*.py"):
        ast.parse(path.read_text(), filename=str(path))  # raises on a syntax error
    assert (root / names.package / "py.typed").exists()
    assert (root / "README.md").read_text().startswith(f"# salon-photo-{kind}")


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_hooks_register_the_provider_under_its_name(tmp_path: Path, kind: str) -> None:
    root = new_plugin(f"photo-{kind}", kind, tmp_path)
    names = names_for(f"photo-{kind}", kind)
    tree = ast.parse((root / names.package / "__init__.py").read_text())
    hooks = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d) == "hookimpl" for d in node.decorator_list)
    }
    assert set(hooks) == {"register_settings", KINDS[kind].hook}
    registered = ast.unparse(hooks[KINDS[kind].hook])
    assert f"register('{names.provider_name}', {names.class_name}.from_context)" in registered
    assert f"register('{names.prefix}', {names.settings_class})" in ast.unparse(
        hooks["register_settings"]
    )


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_hooks_are_annotated_with_the_guides_register_aliases(tmp_path: Path, kind: str) -> None:
    """The guide says: annotate ``register`` with its ``salon.providers`` alias; the skeleton
    does, and its start-up test reaches the provider through public API only."""
    root = new_plugin(f"photo-{kind}", kind, tmp_path)
    names = names_for(f"photo-{kind}", kind)
    init = (root / names.package / "__init__.py").read_text()
    alias = inspect.signature(getattr(hookspecs, KINDS[kind].hook)).parameters["register"]
    assert f"def {KINDS[kind].hook}(register: {alias.annotation}) -> None:" in init
    assert "def register_settings(register: RegisterSettings) -> None:" in init
    assert "Callable" not in init
    plugin_test = (root / "tests" / f"test_{names.provider_name}_plugin.py").read_text()
    assert ".layers" not in plugin_test and "getattr" not in plugin_test
    if kind == "stacked":
        expected = f'dict(app.salon("{names.entry_point}").media_processors)'
        assert expected in plugin_test, plugin_test
        readme = (root / "README.md").read_text()
        assert "salon.images.refresh_renditions(image_id)" in readme, readme


def _imported(root: Path) -> set[str]:
    """The top-level modules the files under ``root`` import, less the standard library's."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names)


def _declared(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower().replace("-", "_") for r in requirements
    }


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_skeleton_declares_what_its_code_imports(tmp_path: Path, kind: str) -> None:
    """The guide: declare what your plugin imports directly; the skeleton does, its package
    in ``dependencies`` and its tests' in the ``test`` extra."""
    root = new_plugin(f"photo-{kind}", kind, tmp_path)
    names = names_for(f"photo-{kind}", kind)
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    runtime = _declared(project["dependencies"])
    assert _imported(root / names.package) - {names.package} <= runtime, runtime
    tests = runtime | _declared(project["optional-dependencies"]["test"])
    assert _imported(root / "tests") - {names.package} <= tests, tests


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_provider_stub_has_every_protocol_method(tmp_path: Path, kind: str) -> None:
    root = new_plugin(f"photo-{kind}", kind, tmp_path)
    names = names_for(f"photo-{kind}", kind)
    tree = ast.parse((root / names.package / "provider.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    defined = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    protocol = KINDS[kind].protocol
    for name, function in vars(protocol).items():
        if not inspect.isfunction(function) or name.startswith("_"):
            continue
        assert name in defined, f"{names.class_name} lacks {name}"
        stub = ast.unparse(defined[name])
        wanted = list(inspect.signature(function).parameters)
        got = [a.arg for a in defined[name].args.args + defined[name].args.kwonlyargs]
        assert got == wanted, f"{name}: {got} != {wanted}"
        if "NotImplementedError" in stub:
            # The message names the method and points at the guide.
            assert f"{names.class_name}.{name} is not written yet" in stub
            assert "docs/plugins.md" in stub


def test_generated_tests_collect(tmp_path: Path) -> None:
    # One pytest process for all kinds: starting one is the slow part.
    roots = [new_plugin(f"photo-{kind}", kind, tmp_path) for kind in ALL_KINDS]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, roots))}  # ~ `pip install -e .`
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + [str(root / "tests") for root in roots],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    for kind in ALL_KINDS:
        names = names_for(f"photo-{kind}", kind)
        assert f"Test{names.class_name}Contract::test_" in result.stdout
        assert f"test_salon_starts_with_{names.provider_name}" in result.stdout


def test_a_stub_says_what_to_write(tmp_path: Path) -> None:
    root = new_plugin("photo-vault", "storage", tmp_path)
    sys.path.insert(0, str(root))
    try:
        from salon_photo_vault.provider import PhotoVaultStorage  # type: ignore[import-not-found]

        storage = PhotoVaultStorage.from_context(
            __import__("salon.providers").providers.ProviderContext(
                core=None, settings=None, data_dir=tmp_path
            )
        )
        with pytest.raises(NotImplementedError, match="delete is not written yet: remove"):
            __import__("asyncio").run(storage.delete("a/b"))
        assert storage.local_path("a/b") is None
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m.startswith("salon_photo_vault")]:
            del sys.modules[name]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Photo_Vault", "lower-case"),
        ("photo--vault", "single hyphens"),
        ("salon", "more than"),
        ("local", "built-in"),
        ("x" * 41, "40 characters"),
    ],
)
def test_bad_names_are_refused(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(ScaffoldError, match=message):
        new_plugin(name, "storage", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_project_is_not_overwritten(tmp_path: Path) -> None:
    root = new_plugin("photo-vault", "storage", tmp_path)
    (root / "README.md").write_text("mine")
    with pytest.raises(ScaffoldError, match="not empty"):
        new_plugin("photo-vault", "storage", tmp_path)
    assert (root / "README.md").read_text() == "mine"


def test_cli_command(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["new-plugin", "salon-photo-vault", "--kind", "source", "--dest", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "salon-photo-vault" / "salon_photo_vault" / "provider.py").exists()
    bad = runner.invoke(cli, ["new-plugin", "photo", "--kind", "teapot", "--dest", str(tmp_path)])
    assert bad.exit_code == 2
    assert "teapot" in bad.output


def test_generated_plugins_pass_mypy_strict(tmp_path: Path) -> None:
    """The skeleton type-checks as the guide asks of a plugin (mypy --strict): a typed
    ProviderContext (core is CoreSettings, settings read through settings_as) broke it once."""
    roots = [new_plugin(f"photo-{kind}", kind, tmp_path) for kind in ALL_KINDS]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, roots)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_a_provider_may_be_named_apart_from_its_plugin(tmp_path: Path) -> None:
    """An outside author wanted the storage ``mirrored`` from the plugin ``memories`` and
    renamed it by hand in five files; ``--provider`` names it (settings keep the plugin's
    prefix: one plugin, one prefix)."""
    runner = CliRunner()
    made = runner.invoke(
        cli,
        [
            "new-plugin",
            "memories",
            "--kind",
            "storage",
            "--provider",
            "mirrored",
            "--dest",
            str(tmp_path),
        ],
    )
    assert made.exit_code == 0, made.output
    root = tmp_path / "salon-memories"
    init = (root / "salon_memories" / "__init__.py").read_text()
    assert 'register("mirrored", MemoriesStorage.from_context)' in init
    assert 'register("MEMORIES", MemoriesSettings)' in init
    plugin_test = (root / "tests" / "test_mirrored_plugin.py").read_text()
    assert '"SALON_STORAGE": "mirrored"' in plugin_test
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["salon"] == {"memories": "salon_memories"}
    for bad, message in [("Mirrored", "lower-case"), ("local", "built-in")]:
        with pytest.raises(ScaffoldError, match=message):
            new_plugin("memories", "storage", tmp_path / bad, provider=bad)
