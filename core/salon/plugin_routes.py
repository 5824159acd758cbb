"""The routes plugins add in ``extend_app``: each plugin's handlers are grouped in one Router
that provides the dependency ``salon`` (that plugin's context).

One Router per plugin, not one per handler: Litestar adds an OPTIONS handler to every path of
a Router, so two Routers holding the same path (a plugin's GET and POST on one path, each in
its own Router) collide on OPTIONS at start-up. For the same reason a path belongs to one
owner, the core or one plugin; a clash is reported naming the plugin and the hook."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.config.app import AppConfig
from litestar.di import Provide

from salon.context import SalonContext, plugin_context
from salon.errors import PluginError
from salon.runtime import Runtime

HOOK = "extend_app"


def give_routes_their_context(
    runtime: Runtime, app_config: AppConfig, before: dict[str, list[Any]]
) -> None:
    """Each route a plugin appended gets the dependency ``salon``: that plugin's context. The
    plugins ran one after the other, so a plugin's routes are those that were not there when
    its call started and were by the next plugin's start."""
    handlers = list(app_config.route_handlers)
    owner: dict[int, str] = {}
    for plugin, seen in reversed(before.items()):  # the last plugin's are the newest
        known = {id(h) for h in seen}
        for handler in handlers:
            if id(handler) not in known and id(handler) not in owner:
                owner[id(handler)] = plugin
    core = [handler for handler in handlers if id(handler) not in owner]
    owned: dict[str, list[Any]] = {}
    for handler in handlers:
        if id(handler) in owner:
            owned.setdefault(owner[id(handler)], []).append(handler)
    routers = _plugin_routers(runtime, owned, taken=dict.fromkeys(_paths(core), "the core"))
    app_config.route_handlers = [*core, *routers]


def _plugin_routers(
    runtime: Runtime, owned: dict[str, list[Any]], taken: dict[str, str]
) -> list[Router]:
    routers = []
    for plugin, handlers in owned.items():
        router = _router(plugin, handlers, plugin_context(runtime, plugin))
        for path in _router_paths(router):
            if path in taken:
                raise PluginError(
                    plugin,
                    HOOK,
                    f"path {path!r} is already routed by {taken[path]}; a path belongs to one "
                    "owner (put all its methods in this plugin, or use another path)",
                )
            taken[path] = f"plugin {plugin!r}"
        routers.append(router)
    return routers


def _router(plugin: str, handlers: list[Any], salon: SalonContext) -> Router:
    try:
        return Router(
            path="/",
            route_handlers=handlers,
            dependencies={"salon": Provide(lambda: salon, sync_to_thread=False)},
        )
    except Exception as exc:
        raise PluginError(plugin, HOOK, f"its routes cannot be registered: {exc}") from exc


def _paths(handlers: list[Any]) -> set[str]:
    if not handlers:
        return set()
    return set(_router_paths(Router(path="/", route_handlers=handlers)))


def _router_paths(router: Router) -> list[str]:
    return [route.path for route in router.routes]
