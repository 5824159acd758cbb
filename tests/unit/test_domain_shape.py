"""Every domain context under salon/domain has the same shape (issue 16 item 8): its routes in
``controllers.py``, its logic in ``services.py`` (no Litestar handlers there), and the
request and response types in ``schemas.py`` (no msgspec Struct defined anywhere else)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "core" / "salon" / "domain"
CONTEXTS = sorted(p for p in DOMAIN.iterdir() if (p / "__init__.py").exists())
HANDLER_DECORATORS = {"get", "post", "put", "patch", "delete", "route"}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text())


def _structs(tree: ast.Module) -> list[str]:
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any("Struct" in ast.unparse(base) for base in node.bases)
    ]


def _handlers(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            "Controller" in ast.unparse(base) for base in node.bases
        ):
            found.append(node.name)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) in HANDLER_DECORATORS:
                    found.append(node.name)
    return found


def test_every_context_is_found() -> None:
    names = {p.name for p in CONTEXTS}
    assert {"albums", "auth", "images", "shares", "sources", "system", "uploads"} <= names


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda p: p.name)
def test_context_has_controllers_and_services(context: Path) -> None:
    assert (context / "controllers.py").exists(), f"{context.name}: no controllers.py"
    assert (context / "services.py").exists(), f"{context.name}: no services.py"
    assert _handlers(_tree(context / "services.py")) == [], f"{context.name}: routes in services"


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda p: p.name)
def test_schemas_live_in_schemas_py(context: Path) -> None:
    elsewhere = {
        path.name: _structs(_tree(path))
        for path in sorted(context.glob("*.py"))
        if path.name != "schemas.py" and _structs(_tree(path))
    }
    assert elsewhere == {}, f"{context.name}: msgspec Structs outside schemas.py"


# Services still handed the whole runtime. The list may only shrink (it is empty: images
# and renditions take ImagePorts and RenditionPorts, their events through ports.ImageEvents).
ON_RUNTIME: set[str] = set()


def _imports_runtime(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.ImportFrom) and node.module == "salon.runtime"
        for node in ast.walk(tree)
    )


def test_services_take_narrow_ports() -> None:
    """salon.domain.ports: a service names what it uses, not the whole Runtime."""
    on_runtime = {
        context.name for context in CONTEXTS if _imports_runtime(_tree(context / "services.py"))
    }
    assert on_runtime <= ON_RUNTIME, f"services newly on Runtime: {on_runtime - ON_RUNTIME}"
    assert {"uploads", "sources", "videos", "downloads", "system", "shares", "images"}.isdisjoint(
        on_runtime
    )
    # The rendition pipeline too: RenditionPorts, not the Runtime.
    assert not _imports_runtime(_tree(DOMAIN / "images" / "processing.py"))
