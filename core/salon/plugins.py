"""Plugin loading and provider selection.

Built-in plugins (``DEFAULT_PLUGINS``) and third-party ones (entry points in group ``salon``) are
loaded by the same function and registered the same way. Providers are gathered from the
registration hooks into a :class:`ProviderRegistry`; settings select one per role by name.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, Final, Protocol

import pluggy

from salon import hookspecs
from salon.errors import ConfigurationError, PluginError
from salon.providers import (
    ProviderContext,
    RegisterAuthProvider,
    RegisterImageSource,
    RegisterJobHandler,
    RegisterJobQueue,
    RegisterMediaProcessor,
    RegisterSettings,
    RegisterStorageBackend,
)

# Re-exported for plugins written against earlier guides; salon.providers is their home.
__all__ = [
    "RegisterAuthProvider",
    "RegisterImageSource",
    "RegisterJobHandler",
    "RegisterJobQueue",
    "RegisterMediaProcessor",
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
    "salon.domain.sources.jobs",
    "salon.domain.uploads.jobs",
    "salon.domain.images.jobs",
)

ROLES: Final[dict[str, str]] = {
    "storage": "register_storage_backends",
    "auth": "register_auth_providers",
    "media": "register_media_processors",
    "source": "register_image_sources",
    "queue": "register_job_queues",
    "mail": "register_mail_senders",
}


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

    offers: dict[str, dict[str, Offer]] = field(default_factory=dict)
    job_handlers: dict[str, Offer] = field(default_factory=dict)
    settings_types: dict[str, tuple[type[Any], str]] = field(default_factory=dict)

    def names(self, role: str) -> list[str]:
        return sorted(self.offers.get(role, {}))

    def offer(self, role: str, name: str) -> Offer:
        if name not in self.offers.get(role, {}):
            raise ConfigurationError(self.unknown(role, name))
        return self.offers[role][name]

    def unknown(self, role: str, name: str) -> str:
        """Why ``name`` cannot be selected for ``role``: what is on offer, the nearest name."""
        available = self.offers.get(role, {})
        listing = ", ".join(f"{o.name} (plugin {o.plugin})" for o in available.values())
        setting = "SALON_" + role.upper()
        nearest = difflib.get_close_matches(name, list(available), n=1, cutoff=0.6)
        hint = f"; did you mean {nearest[0]!r}?" if nearest else ""
        return (
            f"{setting}={name!r} is not a known {role} provider{hint} "
            f"(available: {listing or 'none'})"
        )

    def build(self, role: str, name: str, context: ProviderContext) -> Any:
        offer = self.offer(role, name)
        try:
            return offer.factory(context)
        except ConfigurationError as exc:
            message = f"{role} provider {name!r} (plugin {offer.plugin}): {exc}"
            raise ConfigurationError(message) from exc
        except Exception as exc:
            raise PluginError(
                offer.plugin, ROLES[role], f"factory {name!r} raised {exc!r}"
            ) from exc


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
    """``SALON_TRACE_PLUGINS``: log every hook call with each plugin and its duration."""
    trace_log = logging.getLogger("salon.plugins.trace")

    def before(hook_name: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        kwargs_names = ", ".join(kwargs)
        plugins = ", ".join(impl.plugin_name for impl in impls)
        trace_log.info("hook %s(%s) -> %s", hook_name, kwargs_names, plugins)

    def after(outcome: Any, hook_name: str, impls: Sequence[Any], kwargs: Any) -> None:
        trace_log.info("hook %s done (%d implementations)", hook_name, len(impls))

    pm.add_hookcall_monitoring(before, after)
    for hook_caller in pm.hook.__dict__.values():
        if isinstance(hook_caller, pluggy.HookCaller):
            for impl in hook_caller.get_hookimpls():
                impl.function = _timed(  # type: ignore[misc]
                    impl.function, impl.plugin_name, hook_caller.name
                )


def _timed(function: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
    trace_log = logging.getLogger("salon.plugins.trace")

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            trace_log.info("hook %s in plugin %s took %.2f ms", hook, plugin, elapsed)

    wrapper.__signature__ = _signature(function)  # type: ignore[attr-defined]
    return wrapper


def _signature(function: Callable[..., Any]) -> Any:
    import inspect

    return inspect.signature(function)


def call_each(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
    """Call every implementation of ``hook`` separately, so one raising does not stop the
    others; return (plugin name, result) pairs and raise PluginError for the first failure only
    after all have run."""
    results: list[tuple[str, Any]] = []
    failure: PluginError | None = None
    for impl in getattr(pm.hook, hook).get_hookimpls():
        args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
        try:
            results.append((impl.plugin_name, impl.function(**args)))
        except Exception as exc:
            failure = failure or PluginError(impl.plugin_name, hook, repr(exc))
            failure.__cause__ = exc
    if failure is not None:
        raise failure
    return results


def notify(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> None:
    """Fire an event hook: a listener that raises is logged with its plugin's name and skipped."""
    for impl in getattr(pm.hook, hook).get_hookimpls():
        args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
        try:
            impl.function(**args)
        except Exception:
            log.exception("plugin %r, event hook %r raised; continuing", impl.plugin_name, hook)


def collect_registry(pm: pluggy.PluginManager) -> ProviderRegistry:
    """Ask every plugin what it offers. Duplicate names are a start-up error naming both."""
    registry = ProviderRegistry()
    for role, hook in ROLES.items():
        table: dict[str, Offer] = registry.offers.setdefault(role, {})
        _collect(pm, hook, table, role)
    _collect(pm, "register_job_handlers", registry.job_handlers, "job handler")
    for impl in pm.hook.register_settings.get_hookimpls():

        def add(prefix: str, type_: type[Any], _plugin: str = impl.plugin_name) -> None:
            key = prefix.upper()
            if key in registry.settings_types:
                other = registry.settings_types[key][1]
                raise PluginError(_plugin, "register_settings", f"prefix {key} taken by {other}")
            if any(owner == _plugin for _, owner in registry.settings_types.values()):
                # ProviderContext.settings carries one object per plugin.
                raise PluginError(_plugin, "register_settings", "register one settings prefix")
            registry.settings_types[key] = (type_, _plugin)

        _call_registration(impl, "register_settings", add)
    return registry


def _collect(pm: pluggy.PluginManager, hook: str, table: dict[str, Offer], what: str) -> None:
    for impl in getattr(pm.hook, hook).get_hookimpls():

        def add(name: str, factory: Any, _plugin: str = impl.plugin_name) -> None:
            if name in table:
                raise PluginError(
                    _plugin, hook, f"{what} {name!r} is already offered by {table[name].plugin}"
                )
            table[name] = Offer(name, _plugin, factory)

        _call_registration(impl, hook, add)


def _call_registration(impl: Any, hook: str, register: Callable[..., None]) -> None:
    try:
        impl.function(register=register)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(impl.plugin_name, hook, repr(exc)) from exc


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
