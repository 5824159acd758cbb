"""docs/plugins.md is the plugin contract: it must keep up with hookspecs.py and providers.py.

Fails when a hook has no section titled with its exact signature, when a Protocol member is not
described in its Protocol's section, when a hookspec docstring does not say since which version
the hook exists, or when a Python example in the guide does not parse.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from salon import context, hookspecs, providers

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
PROTOCOLS = [
    providers.StorageBackend,
    providers.AuthProvider,
    providers.AccountSecurity,
    providers.MailSender,
    providers.MediaProcessor,
    providers.StackedMediaProcessor,
    providers.ImageSource,
    providers.JobQueue,
    providers.JobContext,
]
# The `salon` object and its parts: every public member is described in its section.
FACADE = [
    context.SalonContext,
    context.PluginQueue,
    context.PluginImages,
    context.PluginAlbums,
    context.PluginUsers,
    context.PluginJobs,
]
FACADE_SECTION = "## The `salon` object"


def _hooks() -> list[tuple[str, object]]:
    return [
        (name, function)
        for name, function in vars(hookspecs).items()
        if inspect.isfunction(function) and hasattr(function, "salon_spec")
    ]


def _signature(function: object) -> str:
    params = ", ".join(inspect.signature(function).parameters)  # type: ignore[arg-type]
    return f"{function.__name__}({params})"  # type: ignore[attr-defined]


def _headings(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("### ")]


def _section(text: str, heading: str) -> str:
    """The text from ``heading`` to the next heading of the same or a higher level."""
    start = text.index(heading + "\n")
    rest = text[start + len(heading) :]
    following = re.search(r"^#{1,3} ", rest, flags=re.MULTILINE)
    return rest[: following.start()] if following else rest


def _members(protocol: type) -> list[str]:
    methods = [
        name
        for name, value in vars(protocol).items()
        if isinstance(value, property) or (inspect.isfunction(value) and not name.startswith("_"))
    ]
    attributes = [a for a in getattr(protocol, "__annotations__", {}) if not a.startswith("_")]
    return attributes + methods


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text()


def test_every_hook_is_found() -> None:
    # Guards the checks below against passing vacuously.
    names = {name for name, _ in _hooks()}
    assert {"register_storage_backends", "image_stored", "extend_app"} <= names


@pytest.mark.parametrize(
    ("name", "function"), _hooks(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_hook_has_a_section_titled_with_its_signature(
    guide: str, name: str, function: object
) -> None:
    heading = f"### `{_signature(function)}`"
    assert heading in _headings(guide), f"docs/plugins.md lacks the section {heading!r}"
    body = _section(guide, heading)
    assert "Since" in body, f"{heading}: say since which version the hook exists"
    assert "Returns" in body, f"{heading}: say what the hook returns"
    assert "Errors" in body, f"{heading}: say what happens when it raises"
    assert "```python" in body, f"{heading}: give an example"


@pytest.mark.parametrize(
    ("name", "function"),
    [(n, f) for n, f in _hooks() if "register" in inspect.signature(f).parameters],  # type: ignore[arg-type]
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_registration_hook_section_gives_the_callbacks_type(
    guide: str, name: str, function: object
) -> None:
    type_name = inspect.signature(function).parameters["register"].annotation  # type: ignore[arg-type]
    assert hasattr(providers, type_name), f"{name}: {type_name} is not in salon.providers"
    body = _section(guide, f"### `{_signature(function)}`")
    assert f"**`register`:** `{type_name}` from `salon.providers`" in body


def test_no_section_for_a_hook_that_does_not_exist(guide: str) -> None:
    documented = {
        m.group(1)
        for h in _headings(guide)
        if (m := re.match(r"### `([a-z_]+)\(", h)) and not h.startswith("### `salon")
    }
    assert documented <= {name for name, _ in _hooks()}


@pytest.mark.parametrize(
    ("name", "function"), _hooks(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_hookspec_docstring_says_since(name: str, function: object) -> None:
    doc = inspect.getdoc(function) or ""
    assert re.search(r"Since \d+\.\d+", doc), f"{name}'s docstring lacks 'Since <version>'"


@pytest.mark.parametrize("protocol", PROTOCOLS, ids=lambda p: p.__name__)
def test_every_protocol_member_is_described(guide: str, protocol: type) -> None:
    heading = f"### `{protocol.__name__}`"
    assert heading in _headings(guide), f"docs/plugins.md lacks the section {heading!r}"
    body = _section(guide, heading)
    members = _members(protocol)
    assert members, protocol.__name__
    missing = [m for m in members if f"`{m}" not in body]
    assert not missing, f"{heading} does not describe: {', '.join(missing)}"


def test_python_examples_parse(guide: str) -> None:
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)
    assert len(blocks) >= 10
    for block in blocks:
        ast.parse(block)


@pytest.mark.parametrize(
    "phrase",
    [
        "SALON_DISABLE_PLUGINS",
        "SALON_TRACE_PLUGINS",
        "[project.entry-points.salon]",
        "salon new-plugin",
        "register_settings",
        "running_app",
        "unknown settings",
        "only the arguments it names",
        "`node.style.backgroundColor = color`",  # CSSOM styles pass the CSP
        "a second `running_app` on the same folder",  # data kept: before/after a backfill
    ],
)
def test_guide_covers(guide: str, phrase: str) -> None:
    assert phrase in guide


@pytest.mark.parametrize(
    ("block", "module", "least"), [(1, "processor.py", 10), (2, "__init__.py", 7)]
)
def test_stacking_walkthrough_shows_the_examples_real_code(
    guide: str, block: int, module: str, least: int
) -> None:
    """The guide's AvifPhash and its registration (typed with the Register* aliases) are the
    example's, line for line (comments aside)."""
    section = _section(guide, "## Stacking media processors")
    shown = section.split("```python\n")[block].split("```", 1)[0]
    code = (GUIDE.parents[1] / "examples/salon-avif-phash/salon_avif_phash" / module).read_text()
    lines = [line.split("  #")[0].rstrip() for line in shown.splitlines() if line.strip()]
    missing = [line for line in lines if line not in code]
    assert len(lines) > least and not missing, missing


def _public_members(cls: type) -> list[str]:
    """Methods and properties of ``cls``, and the attributes its ``__init__`` sets."""
    members = [
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(value) or isinstance(value, property))
    ]
    init = inspect.getsource(cls.__init__) if "__init__" in vars(cls) else ""
    members += re.findall(r"self\.([a-z]\w*) = ", init)
    return members


@pytest.mark.parametrize("cls", FACADE, ids=lambda c: c.__name__)
def test_every_member_of_the_salon_object_is_described(guide: str, cls: type) -> None:
    body = _section(guide, FACADE_SECTION)
    members = _public_members(cls)
    assert members, cls.__name__
    missing = [m for m in members if f"`{m}" not in body and f".{m}(" not in body]
    assert not missing, f"{FACADE_SECTION} does not describe {cls.__name__}: {', '.join(missing)}"


def test_the_salon_object_reaches_every_plugin_facing_call(guide: str) -> None:
    # Each hook the core calls after start-up offers `salon`; the section says where.
    body = _section(guide, FACADE_SECTION)
    for name, function in _hooks():
        if not name.startswith("register_") or name == "register_commands":
            assert "salon" in inspect.signature(function).parameters, name  # type: ignore[arg-type]
            assert f"`{_signature(function)}`" in body, name
    assert "job.salon" in body and "require_user" in body


@pytest.mark.parametrize("module", ["salon_nasa_apod", "salon_ffmpeg_video"])
def test_guide_gives_the_bundled_pages_nav_order(guide: str, module: str) -> None:
    import importlib

    pages: list[providers.PageSpec] = []
    plugin = importlib.import_module(module)
    plugin.register_pages(
        lambda offer: pages.append(offer) if isinstance(offer, providers.PageSpec) else None
    )
    [page] = pages
    name = module.removeprefix("salon_")
    assert f"{page.nav_label} (`{name}`) {page.nav_order}" in guide


STATIC = Path(__file__).resolve().parents[2] / "core" / "salon" / "web" / "static"
PAGE_HELPERS = {
    "js/api.js": ("api", "ApiError", "refreshSession", "toLogin"),
    "js/jobs.js": ("trackJob",),
    "js/ui.js": (
        "initChrome", "$", "el", "toast", "showError", "errorMessage",
        "formatDate", "formatBytes", "formatTaken",
    ),
}  # fmt: skip
PAGE_CLASSES = (
    "button", "primary", "quiet", "danger", "stack", "inline-form", "actions", "page-head",
    "hint", "loading", "section-title", "form-error", "visually-hidden",
)  # fmt: skip


def test_the_page_helpers_the_guide_names_exist() -> None:
    """The guide's tables of scripts and CSS classes for plugin pages name what the core's
    files really export and style (a rename there must update the guide)."""
    guide = GUIDE.read_text()
    for path, names in PAGE_HELPERS.items():
        source = (STATIC / path).read_text()
        for name in names:
            assert f"`{name}" in guide, name
            # Its row in the table of imports says which module exports it.
            named = re.compile(rf"`{re.escape(name)}[(`]")
            rows = [r for r in guide.splitlines() if r.startswith("| `") and named.search(r)]
            [first_cell] = [r.split("|")[1] for r in rows if named.search(r.split("|")[1])]
            assert f"from `/static/{path}`" in first_cell, f"the guide does not say {name}'s module"
            exported = rf"export (?:async )?(?:function|class) {re.escape(name)}[ (]"
            assert re.search(exported, source), f"{path} no longer exports {name}"
    css = (STATIC / "css" / "salon.css").read_text()
    for name in PAGE_CLASSES:
        assert f"`{name}`" in guide, name
        assert re.search(rf"\.{re.escape(name)}\b", css), f"salon.css has no .{name}"


def test_publishing_names_the_libraries_salon_brings(guide: str) -> None:
    """The guide says which libraries come with ``salon`` (its declared dependencies), and
    that a plugin declares what it imports itself: kept in step with core/pyproject.toml."""
    import tomllib

    core = GUIDE.parents[1] / "core" / "pyproject.toml"
    requirements = tomllib.loads(core.read_text())["project"]["dependencies"]
    section = _section(guide, "## Publishing")
    for requirement in requirements:
        name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0]
        assert f"`{name}`" in section, f"the guide's Publishing does not name {name}"
    assert "declare every library your plugin imports directly" in section
