"""The composition root (salon.composition): one typed set of core services, no ``Any`` at the
seams between it, the runtime, the worker and handlers, no ``app.state`` lookups, and the
deprecated ``JobContext.service`` kept as a warning shim (issue 16 item 8)."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from typing import Any, cast

import pytest
from salon.composition import CoreServices, job_services
from salon.worker import Worker, WorkerConfig, _Context

CORE = Path(__file__).resolve().parents[2] / "core" / "salon"

# Class -> the attributes whose annotation must not mention Any, in each seam module.
SEAMS = {
    "runtime.py": {"Runtime": None},
    "composition.py": {"CoreServices": None},
    "worker.py": {"Worker": {"queue", "handlers", "storage", "services", "contexts"}},
}


def _annotations(path: Path, cls: str) -> dict[str, str]:
    tree = ast.parse(path.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    return {
        item.target.id: ast.unparse(item.annotation)
        for item in node.body
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
    }


@pytest.mark.parametrize(
    ("module", "cls"), [(m, c) for m, classes in SEAMS.items() for c in classes]
)
def test_no_any_in_seam_fields(module: str, cls: str) -> None:
    fields = _annotations(CORE / module, cls)
    assert fields, f"{cls} has no annotated fields in {module}"
    only = SEAMS[module][cls]
    checked = {name: text for name, text in fields.items() if only is None or name in only}
    untyped = {name: text for name, text in checked.items() if re.search(r"\bAny\b", text)}
    assert not untyped, f"{module}: {cls} fields typed with Any: {untyped}"


def test_service_lookups_are_typed() -> None:
    """JobContext.service answers a typed service per name (ServiceByName's overloads)."""
    tree = ast.parse((CORE / "composition.py").read_text())
    lookup = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ServiceByName")
    returns = [
        ast.unparse(node.returns)
        for node in lookup.body
        if isinstance(node, ast.FunctionDef) and node.name == "__call__" and node.returns
    ]
    assert returns[:4] == [
        "ImageService",
        "UploadService",
        "SourceImportService",
        "RenditionService",
    ]
    assert not [r for r in returns if re.search(r"\bAny\b", r)], returns
    for module in ("providers.py", "worker.py"):
        assert "def service(self) -> ServiceByName:" in (CORE / module).read_text(), module


def _uses(predicate: Any) -> list[str]:
    """``file:line`` of every node of the core's code that ``predicate`` accepts."""
    return [
        f"{path.relative_to(CORE)}:{node.lineno}"
        for path in sorted(CORE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if predicate(node)
    ]


def _app_state(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "state"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "app"
    )


def test_no_app_state_lookups_in_core() -> None:
    """Handlers get services through Provide; only runtime_of (and the test client's
    RunningApp, which hands a test its runtime) reads app.state."""
    found = _uses(_app_state)
    runtime_of = [f for f in found if f.startswith("runtime.py:")]
    assert len(runtime_of) == 1, found
    assert [f for f in found if not f.startswith("runtime.py:")] == [], found


def _by_name(node: ast.AST) -> bool:
    """``x.service("...")``, ``x.services[...]`` or ``x.services.get(...)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "service":
            return True
        inner = node.func.value
        return (
            node.func.attr == "get"
            and isinstance(inner, ast.Attribute)
            and (inner.attr == "services")
        )
    return (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "services"
    )


def test_no_service_lookup_by_name_in_core() -> None:
    assert _uses(_by_name) == [], "core code looks services up by name"


def _services() -> CoreServices:
    names = [f.name for f in dataclasses.fields(CoreServices) if f.name != "media_mounted"]
    return CoreServices(**{name: object() for name in names})  # type: ignore[arg-type]


def _job(services: CoreServices | None) -> _Context:
    worker = Worker(
        cast(Any, None),
        cast(Any, None),
        {},
        cast(Any, None),
        services=services,
        config=WorkerConfig(),
    )
    return _Context(
        worker, job_id="j", job_uuid=None, kind="k", owner_id=None, payload={}, attempt=1
    )


def test_job_service_warns_and_answers_the_composed_service() -> None:
    services = _services()
    job = _job(services)
    with pytest.warns(DeprecationWarning, match=r"job\.salon"):
        assert job.service("images") is services.images
    with pytest.warns(DeprecationWarning), pytest.raises(NotImplementedError, match="bogus"):
        job.service("bogus")  # type: ignore[call-overload]
    assert job_services(job) is services


def test_core_handlers_need_the_workers_services() -> None:
    with pytest.raises(NotImplementedError, match="worker"):
        job_services(_job(None))
