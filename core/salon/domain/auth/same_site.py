"""Only this site's pages (and configured CORS origins) may drive the account routes.

A form on another site can POST ``text/plain`` without a CORS preflight, and the browser sends
it with this site's cookies: that is how login CSRF (signing the victim into the attacker's
account) and cookie-riding refresh/logout work. So, on ``/api/auth/*`` and a share link's
``unlock`` (whose answer sets a cookie too), before the body is read:

- a request that carries a body must say ``Content-Type: application/json`` (415 otherwise):
  a cross-site form cannot send that without a preflight, which CORS refuses;
- a browser's ``Origin`` must be this site's own origin or one of ``SALON_CORS_ORIGINS``, and
  ``Sec-Fetch-Site: cross-site``/``same-site`` is refused unless that origin is allowed (403).

API clients send neither header and are unaffected. Cookie-authenticated refresh and logout
also check the CSRF double-submit token (:func:`salon.domain.deps.check_csrf`).
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from salon.runtime import Runtime, runtime_of

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
CROSS_SITE = "cross-site requests to this route are refused: only this site's pages may send them"


class UnsupportedMediaType(HTTPException):
    status_code = 415


def _has_body(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    headers = connection.headers
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


def _own_origins(connection: ASGIConnection[Any, Any, Any, Any], runtime: Runtime) -> set[str]:
    own = {str(connection.base_url).rstrip("/")}
    if runtime.core.public_url:
        scheme, _, rest = runtime.core.public_url.partition("://")
        own.add(f"{scheme}://{rest.split('/', 1)[0]}")
    return own | set(runtime.core.cors_origins)


async def same_site_json_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    runtime = runtime_of(connection)
    method = connection.scope.get("method", "GET")
    if method in BODY_METHODS and _has_body(connection):
        media_type = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type != "application/json":
            raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
    origin = connection.headers.get("origin")
    allowed = _own_origins(connection, runtime)
    if origin is not None and origin.rstrip("/") not in allowed:
        raise PermissionDeniedException(CROSS_SITE)
    fetch_site = connection.headers.get("sec-fetch-site", "").lower()
    if fetch_site in ("cross-site", "same-site") and (origin is None or origin not in allowed):
        raise PermissionDeniedException(CROSS_SITE)
