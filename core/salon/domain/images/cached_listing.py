"""``GET /api/images`` answered ahead of Litestar's router (issues 19.1 and 19.2).

A gallery lists far more than anything else, and a repeated page is already cached (encoded
JSON, ``salon.domain.images.listing``) with the token and the user it needs
(``salon.caching``). What such a request still cost was the framework around it: routing, the
guard, dependency resolution, the response object, the middleware's send wrappers (0.3 ms of
CPU against 0.08 ms for a bare Litestar route; see benchmarks/README.md). Here the plainest
form of the request (a bearer token; ``limit``, ``cursor`` and ``order`` in plain characters,
nothing else) is looked up in the same caches, under the same versions, and answered directly
when all three hold: the same body, ``Content-Type``, ``X-Request-Id`` and metrics as the route
(the security headers come from the app's ``before_send``, which wraps this too). When the
token and the user are cached but the page is not, the page is read here too, straight from
the driver (:meth:`ImageLister.driver_page`, issue 19.2: no session, no SQLAlchemy result,
about a third of the route's CPU) and cached as the route would cache it. Anything else (a
token or user not cached, a bad cursor, a database error) goes through the router as before.

It is installed only when nothing could make the route answer differently: request
authenticators come before the bearer token, so each must say which tokens it may claim
(``may_claim_bearer``, as the core's API keys do) and a token any of them may claim goes to the
router; no CORS; and no guard, middleware, dependency override or request hook that a plugin
added (:func:`can_answer_from_cache`).
"""

from __future__ import annotations

import re
import time
from typing import Any, Final

from litestar import Litestar
from litestar.types import ASGIApp

from salon.domain.deps import authenticate_first, provide_current_user
from salon.domain.images.cursor import TAKEN, UPLOADED
from salon.domain.images.services import Shown
from salon.request_middleware import METRICS, REQUEST_ID_HEADER, new_request_id, request_middleware
from salon.runtime import Runtime

__all__ = ["can_answer_from_cache", "install_cached_listing", "plain_listing_query"]

PATH: Final = "/api/images"
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 200
ORDERS: Final = frozenset({UPLOADED, TAKEN})
# Query strings made only of these need no decoding (cursors are base64url).
_PLAIN = re.compile(rb"[A-Za-z0-9=&_.~-]*")
_JSON = b"application/json"


def plain_listing_query(raw: bytes) -> tuple[int, str | None, str] | None:
    """``(limit, cursor, order)`` of a query string the route would read the same way, else
    None (anything encoded, repeated, empty, unknown or out of range: the router decides)."""
    limit, cursor, order = DEFAULT_LIMIT, None, UPLOADED
    if not raw:
        return limit, cursor, order
    if not _PLAIN.fullmatch(raw):
        return None
    seen: set[bytes] = set()
    for pair in raw.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name in seen or not value:
            return None
        seen.add(name)
        if name == b"limit":
            if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
                return None
            limit = int(value)
        elif name == b"cursor":
            cursor = value.decode("ascii")
        elif name == b"order" and value.decode("ascii") in ORDERS:
            order = value.decode("ascii")
        else:
            return None
    return limit, cursor, order


def _bearer(headers: Any) -> str | None:
    """The request's one ``Authorization: Bearer`` token, as ``bearer_token`` reads it."""
    token = None
    for name, value in headers:
        if name == b"authorization":
            if token is not None:
                return None
            scheme, _, rest = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not rest.strip():
                return None
            token = rest.strip()
    return token


def can_answer_from_cache(app: Litestar, runtime: Runtime) -> bool:
    """Whether the route would add nothing to a cached page (module docstring)."""
    current_user = app.dependencies.get("current_user")
    return (
        all(callable(getattr(a, "may_claim_bearer", None)) for _, a in runtime.authenticators)
        and app.cors_config is None
        and callable(getattr(runtime.auth, "cached_identity", None))
        and list(app.middleware) == [request_middleware]
        and list(app.guards) == [authenticate_first]
        and getattr(current_user, "dependency", None) is provide_current_user
        and app.before_request is None
        and app.after_request is None
        and app.after_response is None
        and not app.response_headers
        and not app.response_cookies
    )


def install_cached_listing(app: Litestar, runtime: Runtime) -> None:
    """Answer cached ``GET /api/images`` pages ahead of the router, when that is the same."""
    if not can_answer_from_cache(app, runtime):
        return
    identities = runtime.auth.cached_identity  # type: ignore[attr-defined]
    users = runtime.services.users
    pages = runtime.services.image_pages
    claims = [a.may_claim_bearer for _, a in runtime.authenticators]  # type: ignore[attr-defined]
    inner: ASGIApp = app.asgi_handler

    async def body_of(scope: Any) -> bytes | None:
        query = plain_listing_query(scope["query_string"])
        token = _bearer(scope["headers"]) if query is not None else None
        if query is None or token is None or any(claim(token) for claim in claims):
            return None
        identity = identities(token)
        user = users.cached(identity) if identity is not None else None
        if user is None:
            return None
        limit, cursor, order = query
        shown = Shown(user.id)
        body = pages.cached_page(shown, limit=limit, cursor=cursor, order=order)
        if body is not None:
            return body
        try:
            # A miss: the page from the driver (issue 19.2), cached as the route would.
            return await pages.driver_page(shown, limit=limit, cursor=cursor, order=order)
        except Exception:
            # A bad cursor (the route answers 400) or a lost connection (the route's read
            # runs again on a new one, or answers 503): the router answers either.
            return None

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await inner(scope, receive, send)
            return
        started = time.perf_counter()
        body = None if scope.get("root_path") else await body_of(scope)
        if body is None:
            await inner(scope, receive, send)
            return
        gauge = METRICS.started("GET", PATH)
        gauge.inc()
        try:
            headers = [
                (b"content-type", _JSON),
                (b"content-length", str(len(body)).encode()),
                (REQUEST_ID_HEADER, new_request_id(scope["headers"]).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        finally:
            gauge.dec()
            METRICS.finished("GET", PATH, 200, time.perf_counter() - started)

    app.asgi_handler = handler
