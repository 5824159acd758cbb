"""Plugin loading and provider selection.

Built-in plugins (``DEFAULT_PLUGINS``) and third-party ones (entry points in group ``salon``) are
loaded by the same function and registered the same way. Providers are gathered from the
registration hooks into a :class:`ProviderRegistry`; settings select one per role by name.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, Final, Protocol, TypeVar, cast

import pluggy

from salon import hookspecs
from salon.errors import ConfigurationError, PluginError
from salon.providers import (
    JOB_LANES,
    SHORT,
    PageSpec,
    PluginFiles,
    PluginMigrations,
    ProviderContext,
    RegisterAuthProvider,
    RegisterImageSource,
    RegisterJobHandler,
    RegisterJobQueue,
    RegisterMediaProcessor,
    RegisterRequestAuthenticator,
    RegisterSettings,
    RegisterStorageBackend,
)
from salon.roles import AUTHENTICATOR, ROLES, Role, by_name

Built = TypeVar("Built")  # what one role's factories build (salon.roles.Role's parameter)

# Re-exported for plugins written against earlier guides; salon.providers is their home.
__all__ = [
    "RegisterAuthProvider",
    "RegisterImageSource",
    "RegisterJobHandler",
    "RegisterJobQueue",
    "RegisterMediaProcessor",
    "RegisterRequestAuthenticator",
    "RegisterSettings",
    "RegisterStorageBackend",
]

log = logging.getLogger("salon.plugins")

ENTRY_POINT_GROUP: Final = "salon"

DEFAULT_PLUGINS: Final[tuple[str, ...]] = (
    "salon.defaults.local_storage",
    "salon.defaults.local_auth",
    "salon.defaults.pillow_media",
    "salon.defaults.local_queue",
    "salon.defaults.console_mail",
    "salon.defaults.api_keys",
    "salon.domain.sources.jobs",
    "salon.domain.uploads.jobs",
    "salon.domain.images.jobs",
)


@dataclass(frozen=True, slots=True)
class PluginPage:
    """A page offered through ``register_pages`` and the plugin that offered it."""

    plugin: str
    spec: PageSpec


class Factory(Protocol):
    def __call__(self, context: ProviderContext) -> Any: ...


@dataclass(frozen=True, slots=True)
class Offer:
    """A provider factory, or a job handler, and the plugin that offered it."""

    name: str
    plugin: str
    factory: Any


@dataclass(slots=True)
class ProviderRegistry:
    """Everything the plugins offered, by role and name."""

    # By role name (salon.roles), then offer name, in pluggy's call order.
    offers: dict[str, dict[str, Offer]] = field(default_factory=dict)
    job_handlers: dict[str, Offer] = field(default_factory=dict)
    # Each job kind's lane ("short" or "long"), as its handler was registered.
    job_lanes: dict[str, str] = field(default_factory=dict)
    settings_types: dict[str, tuple[type[Any], str]] = field(default_factory=dict)
    # Web pages (register_pages), in call order, and each plugin's template/static folders.
    pages: list[PluginPage] = field(default_factory=list)
    page_files: dict[str, PluginFiles] = field(default_factory=dict)
    # Plugin-owned tables (register_migrations): branch -> the plugin and its migrations.
    migrations: dict[str, tuple[str, PluginMigrations]] = field(default_factory=dict)

    @property
    def authenticators(self) -> dict[str, Offer]:
        """Request authenticators, in the order they are asked (pluggy's call order)."""
        return self.offers.setdefault(AUTHENTICATOR.name, {})

    def names(self, role: str) -> list[str]:
        return sorted(self.offers.get(role, {}))

    def offer(self, role: str, name: str) -> Offer:
        if name not in self.offers.get(role, {}):
            raise ConfigurationError(self.unknown(role, name))
        return self.offers[role][name]

    def unknown(self, role: str, name: str) -> str:
        """Why ``name`` cannot be selected for ``role``: what is on offer, the nearest name."""
        spec = by_name(role)
        available = self.offers.get(role, {})
        offers = sorted(available.values(), key=lambda o: o.name)  # not call order: stable
        listing = ", ".join(f"{o.name} (plugin {o.plugin})" for o in offers)
        nearest = difflib.get_close_matches(name, list(available), n=1, cutoff=0.6)
        hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
        return (
            f"{spec.variable or spec.hook}={name!r} is not a known {spec.label}{hint} "
            f"(available: {listing or 'none'})"
        )

    def build(self, role: str, name: str, context: ProviderContext) -> Any:
        """Call the factory of ``name``; what goes wrong names the plugin (and its hook)."""
        return build_offer(by_name(role), self.offer(role, name), context)


def build_offer(role: Role[Built], offer: Offer, context: ProviderContext) -> Built:
    """A ConfigurationError (the user's to fix) is told with the provider and its plugin; any
    other exception, or a factory returning what is not one of the role's Protocols, is the
    plugin's bug: a PluginError naming the plugin and the role's hook."""
    try:
        made: object = offer.factory(context)
    except ConfigurationError as exc:
        message = f"{role.label} {offer.name!r} (plugin {offer.plugin}): {exc}"
        raise ConfigurationError(message) from exc
    except Exception as exc:
        raise PluginError(
            offer.plugin, role.hook, f"factory {offer.name!r} raised {exc!r}"
        ) from exc
    provider = role.accepts(made)
    if provider is None:
        wanted = " or ".join(protocol.__name__ for protocol in role.protocols)
        raise PluginError(
            offer.plugin,
            role.hook,
            f"factory {offer.name!r} returned {type(made).__name__}, which is not a {wanted} "
            f"(salon.providers): missing {', '.join(_missing(made, role.protocols)) or '?'}",
        )
    return provider


def _missing(made: object, protocols: tuple[type, ...]) -> list[str]:
    """The public members of the role's main Protocol that ``made`` lacks, for the message."""
    members: set[str] = set()
    for cls in protocols[0].__mro__:
        if cls.__module__ != "typing" and cls is not object:
            members.update(vars(cls), getattr(cls, "__annotations__", {}))
    return sorted(name for name in members if not name.startswith("_") and not hasattr(made, name))


def plugin_name(pm: pluggy.PluginManager, plugin: object) -> str:
    return str(pm.get_name(plugin) or getattr(plugin, "__name__", repr(plugin)))


def _import_plugin(module_path: str, name: str) -> ModuleType:
    try:
        return importlib.import_module(module_path)
    except Exception as exc:
        raise PluginError(name, "import", f"cannot import {module_path!r}: {exc!r}") from exc


def _entry_points() -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def make_plugin_manager(
    disabled: Sequence[str] = (),
    *,
    extra_plugins: Sequence[object] = (),
    trace: bool = False,
    include_entry_points: bool = True,
) -> pluggy.PluginManager:
    """Load built-ins, then entry-point plugins, then ``extra_plugins`` (tests), skipping any
    whose name is in ``disabled``. A plugin that fails to import raises a PluginError naming it."""
    pm = pluggy.PluginManager("salon")
    pm.add_hookspecs(hookspecs)
    skip = set(disabled)
    for module_path in DEFAULT_PLUGINS:
        if module_path not in skip:
            _register(pm, _import_plugin(module_path, module_path), module_path)
    if include_entry_points:
        for ep in _entry_points():
            if ep.name in skip or pm.has_plugin(ep.name):
                continue
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(ep.name, "import", f"cannot load {ep.value!r}: {exc!r}") from exc
            _register(pm, module, ep.name)
    for plugin in extra_plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if name not in skip and not pm.is_registered(plugin) and not pm.has_plugin(name):
            _register(pm, plugin, name)
    _check_implementations(pm)
    if trace:
        _install_tracing(pm)
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """pluggy validates hookimpl signatures here; name the plugin in what the user sees."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(name, "validation", str(exc)) from exc


def _check_implementations(pm: pluggy.PluginManager) -> None:
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(plugin_name(pm, exc.plugin), "validation", str(exc)) from exc


def _install_tracing(pm: pluggy.PluginManager) -> None:
    """``SALON_TRACE_PLUGINS``: log every hook call with its plugins and duration, through
    pluggy's own monitor (``add_hookcall_monitoring``). Salon calls each implementation through
    its own subset caller (:func:`plugin_calls`), so each timing names one plugin."""
    started: list[float] = []

    def before(hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        trace_log.info("hook %s(%s) -> %s", hook_name, ", ".join(kwargs), _names(impls))
        started.append(time.perf_counter())

    def after(outcome: Any, hook_name: str, impls: Sequence[Any], kwargs: Any) -> None:
        elapsed = (time.perf_counter() - started.pop()) * 1000 if started else 0.0
        trace_log.info("hook %s in plugin %s took %.2f ms", hook_name, _names(impls), elapsed)

    pm.add_hookcall_monitoring(before, after)


trace_log = logging.getLogger("salon.plugins.trace")


def _names(impls: Sequence[Any]) -> str:
    """The plugins whose plain implementations run (wrappers are named after a '+')."""
    plain = [i.plugin_name for i in impls if not (i.wrapper or i.hookwrapper)]
    wrappers = [i.plugin_name for i in impls if i.wrapper or i.hookwrapper]
    return ", ".join(reversed(plain)) + (f" + wrappers {', '.join(wrappers)}" if wrappers else "")


def plugin_calls(pm: pluggy.PluginManager, hook: str) -> list[tuple[str, pluggy.HookCaller]]:
    """One pluggy caller per plugin implementing ``hook``, in pluggy's call order (``tryfirst``
    first, ``trylast`` last, otherwise the last registered first).

    Each caller is ``pm.subset_hook_caller`` without the other plugins' plain implementations,
    so calling it runs through pluggy (``wrapper=True`` / ``hookwrapper`` implementations of any
    plugin wrap it, the tracing monitor fires) while one plugin raising cannot stop the next."""
    impls = getattr(pm.hook, hook).get_hookimpls()
    plain = [impl for impl in impls if not (impl.wrapper or impl.hookwrapper)]
    callers: list[tuple[str, pluggy.HookCaller]] = []
    for impl in reversed(plain):  # pluggy runs the end of get_hookimpls() first
        others = [other.plugin for other in plain if other.plugin is not impl.plugin]
        callers.append((impl.plugin_name, pm.subset_hook_caller(hook, remove_plugins=others)))
    return callers


def _one(results: Any) -> Any:
    # A subset caller with one plain implementation answers a list of its non-None result.
    return results[0] if isinstance(results, list) and results else None


PerPlugin = Callable[[str], Mapping[str, Any]]
"""Arguments that differ by plugin (its ``salon`` context), given the plugin's name."""


def _arguments(name: str, kwargs: dict[str, Any], per_plugin: PerPlugin | None) -> dict[str, Any]:
    return {**kwargs, **per_plugin(name)} if per_plugin is not None else kwargs


def call_each(
    pm: pluggy.PluginManager, hook: str, *, per_plugin: PerPlugin | None = None, **kwargs: Any
) -> list[tuple[str, Any]]:
    """Call every implementation of ``hook`` through pluggy, each separately, so one raising
    does not stop the others; return (plugin name, result) pairs in call order and raise
    PluginError for the first failure, naming its plugin and the hook, after all have run.
    ``per_plugin(name)`` adds that plugin's own arguments (pluggy passes only those named)."""
    results: list[tuple[str, Any]] = []
    failure: PluginError | None = None
    for name, caller in plugin_calls(pm, hook):
        try:
            results.append((name, _one(caller(**_arguments(name, kwargs, per_plugin)))))
        except Exception as exc:
            if failure is None:
                failure = PluginError(name, hook, repr(exc))
                failure.__cause__ = exc
    if failure is not None:
        raise failure
    return results


def notify(
    pm: pluggy.PluginManager, hook: str, *, per_plugin: PerPlugin | None = None, **kwargs: Any
) -> None:
    """Fire an event hook through pluggy: a listener that raises is logged with its plugin's
    name and skipped; the others still run. ``per_plugin`` as for :func:`call_each`."""
    for name, caller in plugin_calls(pm, hook):
        try:
            caller(**_arguments(name, kwargs, per_plugin))
        except Exception:
            log.exception("plugin %r, event hook %r raised; continuing", name, hook)


class PluginEvents:
    """The image events (``salon.domain.ports.ImageEvents``) fired through ``pm`` with
    :func:`notify`, each listener with the arguments ``per_plugin`` gives its plugin (its
    ``salon`` context). Built by the composition root, which can make those contexts."""

    def __init__(self, pm: pluggy.PluginManager, per_plugin: PerPlugin) -> None:
        self._pm = pm
        self._per_plugin = per_plugin

    def listening(self, event: str) -> bool:
        return bool(getattr(self._pm.hook, event).get_hookimpls())

    def fire(self, event: str, image: dict[str, Any], **details: Any) -> None:
        notify(self._pm, event, per_plugin=self._per_plugin, image=image, **details)


TRACED_METHODS: Final[dict[str, tuple[str, ...]]] = {r.name: r.traced for r in ROLES if r.traced}


class TracedProvider:
    """With ``SALON_TRACE_PLUGINS``, a provider whose traced methods (``TRACED_METHODS``) log
    their duration on ``salon.plugins.trace``; everything else is the provider's own attribute.
    A plain class of this module, so a picklable provider stays picklable (the media pool)."""

    def __init__(self, inner: Any, role: str, name: str, plugin: str) -> None:
        self._inner = inner
        self._methods = TRACED_METHODS.get(role, ())
        self._label = f"{role} provider {name} (plugin {plugin})"

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") or attr in ("_inner", "_methods", "_label"):
            raise AttributeError(attr)  # unpickling looks these up before __dict__ is set
        value = getattr(self._inner, attr)
        if attr in self._methods and callable(value):
            return _traced_method(value, f"{self._label}.{attr}")
        return value

    def __repr__(self) -> str:
        return f"TracedProvider({self._inner!r})"


def traced(provider: Built, role: str, name: str, plugin: str) -> Built:
    """``provider`` behind a :class:`TracedProvider`: typed as the provider it passes every
    attribute through to."""
    return cast("Built", TracedProvider(provider, role, name, plugin))


def _traced_method(method: Callable[..., Any], label: str) -> Callable[..., Any]:
    import inspect

    def done(started: float, failed: bool) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        trace_log.info("%s took %.2f ms%s", label, elapsed, " (raised)" if failed else "")

    if inspect.iscoroutinefunction(method):

        async def traced_async(*args: Any, **kwargs: Any) -> Any:
            started, failed = time.perf_counter(), True
            try:
                result = await method(*args, **kwargs)
                failed = False
                return result
            finally:
                done(started, failed)

        return traced_async

    def traced(*args: Any, **kwargs: Any) -> Any:
        started, failed = time.perf_counter(), True
        try:
            result = method(*args, **kwargs)
            failed = False
            return result
        finally:
            done(started, failed)

    return traced


def collect_registry(pm: pluggy.PluginManager) -> ProviderRegistry:
    """Ask every plugin what it offers. Duplicate names are a start-up error naming both."""
    registry = ProviderRegistry()
    for role in ROLES:
        _collect(pm, role.hook, registry.offers.setdefault(role.name, {}), role.name)
    _collect_job_handlers(pm, registry)
    for plugin, caller in plugin_calls(pm, "register_settings"):

        def add(prefix: str, type_: type[Any], _plugin: str = plugin) -> None:
            key = prefix.upper()
            if key in registry.settings_types:
                other = registry.settings_types[key][1]
                raise PluginError(_plugin, "register_settings", f"prefix {key} taken by {other}")
            if any(owner == _plugin for _, owner in registry.settings_types.values()):
                # ProviderContext.settings carries one object per plugin.
                raise PluginError(_plugin, "register_settings", "register one settings prefix")
            registry.settings_types[key] = (type_, _plugin)

        _call_registration(plugin, caller, "register_settings", add)
    for plugin, caller in plugin_calls(pm, "register_pages"):
        _call_registration(plugin, caller, "register_pages", _page_adder(registry, plugin))
        _check_pages(registry, plugin)
    for plugin, caller in plugin_calls(pm, "register_migrations"):
        _call_registration(
            plugin, caller, "register_migrations", _migration_adder(registry, plugin)
        )
    return registry


BRANCH: Final = re.compile(r"[a-z][a-z0-9_]{0,40}")


def _migration_adder(registry: ProviderRegistry, plugin: str) -> Callable[[object], None]:
    def add(item: object) -> None:
        hook = "register_migrations"
        if not isinstance(item, PluginMigrations):
            raise PluginError(plugin, hook, f"register() takes PluginMigrations, not {item!r}")
        if not BRANCH.fullmatch(item.branch):
            raise PluginError(plugin, hook, f"branch {item.branch!r} is not [a-z][a-z0-9_]*")
        if item.branch in registry.migrations:
            other = registry.migrations[item.branch][0]
            raise PluginError(plugin, hook, f"branch {item.branch!r} is taken by {other}")
        if not Path(item.versions).is_dir():
            raise PluginError(plugin, hook, f"{item.versions} is not a folder")
        registry.migrations[item.branch] = (plugin, item)

    return add


def _page_adder(registry: ProviderRegistry, plugin: str) -> Callable[[object], None]:
    def add(item: object) -> None:
        if isinstance(item, PluginFiles):
            if plugin in registry.page_files:
                raise PluginError(plugin, "register_pages", "register PluginFiles once")
            registry.page_files[plugin] = item
        elif isinstance(item, PageSpec):
            taken = [p.plugin for p in registry.pages if p.spec.path == item.path]
            if taken:
                raise PluginError(
                    plugin, "register_pages", f"page {item.path} is already offered by {taken[0]}"
                )
            registry.pages.append(PluginPage(plugin, item))
        else:
            raise PluginError(
                plugin,
                "register_pages",
                f"register() takes a PageSpec or PluginFiles, not {item!r}",
            )

    return add


def _check_pages(registry: ProviderRegistry, plugin: str) -> None:
    """A missing folder, template or script would only show as a broken page: say it now."""
    files = registry.page_files.get(plugin, PluginFiles())
    for folder in (files.templates, files.static):
        if folder is not None and not Path(folder).is_dir():
            raise PluginError(plugin, "register_pages", f"{folder} is not a folder")
    for page in (p.spec for p in registry.pages if p.plugin == plugin):
        if not PAGE_PATH.fullmatch(page.path):
            raise PluginError(plugin, "register_pages", f"page path {page.path!r} is not /a-z0-9_-")
        if files.templates is None or not (Path(files.templates) / page.template).is_file():
            where = files.templates or "no templates folder (register PluginFiles)"
            raise PluginError(
                plugin, "register_pages", f"template {page.template!r} not in {where}"
            )
        for asset in (*page.scripts, *page.styles):
            if files.static is None or not _inside(Path(files.static), asset):
                where = files.static or "no static folder (register PluginFiles)"
                raise PluginError(plugin, "register_pages", f"file {asset!r} not in {where}")


PAGE_PATH: Final = re.compile(r"/[a-z0-9][a-z0-9/_-]*")


def _inside(folder: Path, relative: str) -> bool:
    target = (folder / relative).resolve()
    return target.is_relative_to(folder.resolve()) and target.is_file()


def _collect(pm: pluggy.PluginManager, hook: str, table: dict[str, Offer], what: str) -> None:
    for plugin, caller in plugin_calls(pm, hook):

        def add(name: str, factory: Any, _plugin: str = plugin) -> None:
            if name in table:
                raise PluginError(
                    _plugin, hook, f"{what} {name!r} is already offered by {table[name].plugin}"
                )
            table[name] = Offer(name, _plugin, factory)

        _call_registration(plugin, caller, hook, add)


def _collect_job_handlers(pm: pluggy.PluginManager, registry: ProviderRegistry) -> None:
    """As :func:`_collect`, with each kind's lane: ``register(kind, handler, lane="long")``."""
    hook = "register_job_handlers"
    for plugin, caller in plugin_calls(pm, hook):

        def add(kind: str, handler: Any, /, *, lane: str = SHORT, _plugin: str = plugin) -> None:
            if lane not in JOB_LANES:
                raise PluginError(
                    _plugin,
                    hook,
                    f"job kind {kind!r}: lane {lane!r} is not one of {', '.join(JOB_LANES)}",
                )
            if kind in registry.job_handlers:
                other = registry.job_handlers[kind].plugin
                raise PluginError(
                    _plugin, hook, f"job handler {kind!r} is already offered by {other}"
                )
            registry.job_handlers[kind] = Offer(kind, _plugin, handler)
            registry.job_lanes[kind] = lane

        _call_registration(plugin, caller, hook, add)


def _call_registration(
    plugin: str, caller: pluggy.HookCaller, hook: str, register: Callable[..., None]
) -> None:
    try:
        caller(register=register)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(plugin, hook, repr(exc)) from exc


def plugin_versions(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Name, distribution version and implemented hooks of each loaded plugin."""
    dists = {ep.name: ep.dist for ep in _entry_points()}
    out = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        dist = dists.get(name)
        version = dist.version if dist is not None else metadata.version("salon")
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        out.append({"name": name, "version": version, "hooks": hooks})
    return out
