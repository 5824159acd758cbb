"""The gallery web UI: server-rendered pages plus small ES modules served from ``/static``.

``create_app`` mounts whatever :func:`web_handlers` returns. The pages hold no data of their
own: their scripts call the JSON API with the session cookies (and the CSRF header on writes).
"""

from __future__ import annotations

from typing import Any

__all__ = ["web_handlers"]


def web_handlers() -> list[Any]:
    """The route handlers of the web UI: the HTML pages and the static-files router."""
    from salon.web.pages import page_handlers, static_router

    return [*page_handlers(), static_router()]
