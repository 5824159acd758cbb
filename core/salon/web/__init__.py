"""The gallery web UI: server-rendered pages plus small ES modules served from ``/static``.

``create_app`` mounts whatever :func:`web_handlers` returns. The pages hold no data of their
own: their scripts call the JSON API with the session cookies (and the CSRF header on writes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salon.plugins import ProviderRegistry

__all__ = ["web_handlers"]


def web_handlers(registry: ProviderRegistry | None = None) -> list[Any]:
    """The route handlers of the web UI: the HTML pages (the core's and those the plugins in
    ``registry`` offer) and the static-files routers."""
    from salon.web.pages import WebUI, page_handlers, plugin_static_routers, static_router

    web = WebUI(registry.pages, registry.page_files) if registry else WebUI()
    return [*page_handlers(web), static_router(), *plugin_static_routers(web)]
