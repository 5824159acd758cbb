"""The core's modules import each other in layers: the command line and the public Python API
do not import each other, nor the web app and the worker, nor the runtime, the plugins'
context and the image services, and the database layer imports nothing above it. Every import
counts, also those inside functions (they run as surely, only later); imports under
``if TYPE_CHECKING:`` do not (mypy's alone)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import salon

ROOT = Path(salon.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path for path in ROOT.rglob("*.py") if "migrations" not in path.parts
}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(module: str, node: ast.AST) -> Iterator[str]:
    """The names an import statement imports (``a.b`` and, for ``from a import b``, ``a.b``
    when that is a module, else ``a``), resolving relative imports."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, *([node.module] if node.module else [])])
        subs = [f"{base}.{alias.name}" for alias in node.names]
        yield from (sub for sub in subs if sub in MODULES)
        if any(sub not in MODULES for sub in subs):
            yield base


def _walk(module: str, node: ast.AST) -> Iterator[str]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _walk(module, other)
            continue
        yield from _imported(module, child)
        yield from _walk(module, child)


def _edges(module: str) -> set[str]:
    """The core modules ``module`` imports at run time (not its own packages: Python imported
    those before it anyway)."""
    tree = ast.parse(MODULES[module].read_text())
    out: set[str] = set()
    for name in _walk(module, tree):
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module and not module.startswith(name + "."):
            out.add(name)
    return out


GRAPH = {module: _edges(module) for module in MODULES}


def _reachable(start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(GRAPH[start])
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(GRAPH[module])
    return seen


def _cycle_through(module: str, graph: dict[str, set[str]] = GRAPH) -> list[str]:
    """One import path from ``module`` back to itself, or [] when there is none."""
    paths: dict[str, list[str]] = {module: [module]}
    todo = [module]
    while todo:
        current = todo.pop(0)
        for target in sorted(graph[current]):
            if target == module:
                return [*paths[current], module]
            if target not in paths:
                paths[target] = [*paths[current], target]
                todo.append(target)
    return []


def test_the_walk_sees_imports_inside_functions_and_skips_type_checking_ones() -> None:
    assert "salon.launch" in GRAPH["salon.api"]  # imported inside run_source_import
    # hookspecs imports salon.context and salon.providers for mypy only.
    assert GRAPH["salon.hookspecs"] == set()
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle_through("a", graph) == ["a", "b", "c", "a"]
    assert _cycle_through("d", graph) == []


def test_cli_api_and_bulk_import_are_in_no_import_cycle() -> None:
    for module in ("salon.api", "salon.cli", "salon.bulk_import", "salon.launch"):
        assert _cycle_through(module) == [], " -> ".join(_cycle_through(module))


def test_the_app_and_the_worker_are_in_no_import_cycle() -> None:
    # Both build the core services through salon.composition; the app starts the worker.
    assert "salon.worker" in GRAPH["salon.app"]
    for module in ("salon.app", "salon.worker", "salon.composition"):
        assert _cycle_through(module) == [], " -> ".join(_cycle_through(module))


def test_the_runtime_the_plugin_context_and_the_image_services_are_in_no_import_cycle() -> None:
    # The image services take narrow ports (salon.domain.ports) and fire their events through
    # the runtime's ImageEvents, which the composition root wires with each plugin's
    # SalonContext: neither imports salon.runtime or salon.context, and the runtime names
    # SalonContext for mypy only.
    assert "salon.context" in GRAPH["salon.composition"]
    assert "salon.context" not in GRAPH["salon.runtime"]
    modules = (
        "salon.runtime",
        "salon.context",
        "salon.domain.images.services",
        "salon.domain.images.processing",
    )
    for module in modules:
        assert _cycle_through(module) == [], " -> ".join(_cycle_through(module))
    for module in modules[2:]:
        assert {"salon.runtime", "salon.context"}.isdisjoint(_reachable(module)), module


def test_the_database_layer_imports_nothing_above_it() -> None:
    below = {"salon.errors", "salon.providers", "salon.settings", "salon.text"}
    for module in (m for m in MODULES if m.startswith("salon.db")):
        above = {m for m in _reachable(module) if not m.startswith("salon.db") and m not in below}
        assert above == set(), f"{module} imports {sorted(above)}"
