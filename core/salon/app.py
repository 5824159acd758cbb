"""``create_app``: the one place the Litestar app is wired.

Routes come from the domain controllers; providers come from the runtime (chosen by settings
from what the plugins offer); plugins may then change the app config through ``extend_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar, Request, Response
from litestar.config.app import AppConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.logging import LoggingConfig
from litestar.logging.config import default_handlers
from litestar.openapi import OpenAPIConfig
from litestar.types import Message, Scope
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from salon import __version__
from salon.composition import compose, dependencies
from salon.context import plugin_context
from salon.db.changes import listen_postgres
from salon.domain.albums.controllers import AlbumController
from salon.domain.auth import lookalikes
from salon.domain.auth import passwords as common_passwords
from salon.domain.auth.account import AccountController
from salon.domain.auth.controllers import AuthController, me
from salon.domain.bodies import SalonRequest
from salon.domain.deps import (
    authenticate_first,
    provide_current_user,
    provide_optional_user,
)
from salon.domain.downloads.controllers import DownloadController
from salon.domain.images.cached_listing import install_cached_listing
from salon.domain.images.controllers import ImageController
from salon.domain.images.cursor import CursorError
from salon.domain.images.receive import PayloadTooLarge
from salon.domain.images.services import NotFound
from salon.domain.images.serving import mount_media
from salon.domain.jobs.controllers import JobController
from salon.domain.openapi import components as openapi_components
from salon.domain.openapi import document_renditions, mark_authenticated
from salon.domain.shares.controllers import AlbumShareController, ShareController
from salon.domain.sources.controllers import SourceController
from salon.domain.system.controllers import MetricsController, health, ready
from salon.domain.uploads.controllers import UploadController
from salon.domain.videos.controllers import VideoController
from salon.errors import (
    AuthError,
    ConfigurationError,
    Conflict,
    Forbidden,
    Gone,
    InvalidToken,
    MediaBusy,
    MediaTooLarge,
    Missing,
    NeedsCredentials,
    ObjectNotFound,
    ProviderError,
    QueueUnavailable,
    QuotaExceeded,
    RequestRefused,
    SalonError,
    SourceError,
    SourceQueryError,
    SourceRateLimited,
    StorageError,
    TooManyRequests,
    UnsupportedMedia,
)
from salon.logs import TEXT_FORMAT
from salon.providers import BrowserOrigins
from salon.proxies import trust_forwarded_headers
from salon.request_middleware import request_middleware, retry_read
from salon.runtime import Runtime, build_runtime, load_settings, runtime_of
from salon.settings import CoreSettings
from salon.unread_bodies import drain_unread_bodies
from salon.web import web_handlers
from salon.web.apidocs import DOCS_CSP, DOCS_PATH, render_plugins
from salon.web.pages import not_found_page, wants_html

log = logging.getLogger("salon.app")

AUTH_ERROR_STATUS: Mapping[str, int] = {
    "invalid_credentials": 401,
    "wrong_password": 400,
    "invalid_token": 401,
    "user_exists": 409,
    "weak_password": 400,
    "invalid_email": 400,
    "lookalike_email": 403,
    "invalid_code": 400,
    "not_confirmed": 403,
    "unsupported": 400,
    "rate_limited": 429,
    "signup_closed": 403,
    "password_reset_required": 403,
    "code_delivery_failed": 502,
}

SECURITY_HEADERS: Mapping[bytes, bytes] = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}
CSP_TEMPLATE = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: "
    "https:{extra}; media-src 'self' blob: https:{extra}; connect-src 'self' https:{extra}; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)


def content_security_policy(extra_origins: Sequence[str] = ()) -> bytes:
    """The CSP; ``extra_origins`` are plain-http storage endpoints (LocalStack) the browser must
    reach for direct uploads and redirected downloads. https origins are allowed already."""
    extra = "".join(f" {origin}" for origin in extra_origins)
    return CSP_TEMPLATE.format(extra=extra).encode()


# The API docs pages (Litestar's templates) need inline scripts and styles: a CSP of their own.
DOCS_PREFIX = DOCS_PATH


def logging_config(level: str, log_format: str) -> LoggingConfig:
    """Litestar's logging, with request/user/job ids on every record (salon.logs)."""
    formatter: dict[str, Any] = (
        {"()": "salon.logs.JsonFormatter"} if log_format == "json" else {"format": TEXT_FORMAT}
    )
    return LoggingConfig(
        root={"level": level, "handlers": ["queue_listener"]},
        formatters={"standard": formatter},
        filters={"salon_context": {"()": "salon.logs.ContextFilter"}},
        handlers={
            name: {**handler, "filters": ["salon_context"]}
            for name, handler in default_handlers.items()
        },
        log_exceptions="never",
    )


def _error(
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    reason: str | None = None,
) -> Response[Any]:
    body: dict[str, Any] = {"status_code": status, "detail": detail}
    if reason is not None:
        body["reason"] = reason
    return Response(body, status_code=status, headers=dict(headers or {}))


# Each refusal a service raises and its status; the first class the error is an instance of.
REFUSAL_STATUS: tuple[tuple[type[RequestRefused], int], ...] = (
    (NeedsCredentials, 401),
    (Forbidden, 403),
    (Missing, 404),
    (Conflict, 409),
    (Gone, 410),
    (QuotaExceeded, 413),
    (TooManyRequests, 429),
    (RequestRefused, 400),
)


def _handle_salon_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, RequestRefused):
        status = next(code for kind, code in REFUSAL_STATUS if isinstance(exc, kind))
        return _error(status, str(exc), exc.headers)
    if isinstance(exc, AuthError):
        status = AUTH_ERROR_STATUS.get(exc.code, 400)
        retry = {"Retry-After": "1"} if status == 429 else None
        return _error(status, str(exc), retry)
    if isinstance(exc, InvalidToken):
        return _error(401, "invalid or expired token")
    if isinstance(exc, MediaTooLarge):
        return _error(413, str(exc), reason=exc.reason)
    if isinstance(exc, UnsupportedMedia):
        return _error(415, str(exc), reason=exc.reason)
    if isinstance(exc, MediaBusy):
        return _error(503, str(exc), {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ObjectNotFound):
        log.warning("object missing from storage: %s", exc)
        return _error(404, "not found")
    if isinstance(exc, SourceQueryError):
        return _error(400, str(exc))
    if isinstance(exc, SourceRateLimited):
        log.warning("image source rate limited: %s", exc)
        if exc.retry_after is None:
            return _error(429, "the image source is rate limited; try again later")
        wait = max(1, math.ceil(exc.retry_after))
        return _error(
            429,
            f"the image source is rate limited; try again in {wait} s",
            {"Retry-After": str(wait)},
        )
    if isinstance(exc, SourceError):
        # Upstream text ("cannot connect to 127.0.0.1:...") is for the log, not for clients.
        log.error("image source failure: %s", exc)
        return _error(502, exc.public_message or "the image source failed; try again later")
    if isinstance(exc, QueueUnavailable):
        log.error("queue unavailable: %s", exc)
        return _error(503, "the job queue is unavailable; try again shortly")
    if isinstance(exc, StorageError):
        log.error("storage failure: %s", exc)
        return _error(503, "storage is unavailable; try again shortly")
    if isinstance(exc, ProviderError):
        log.error("provider failure: %s", exc)
        return _error(503, "a service Salon depends on is unavailable; try again shortly")
    if isinstance(exc, ConfigurationError):
        log.error("configuration error: %s", exc)
        return _error(503, "the server is misconfigured")
    log.exception("unhandled Salon error", exc_info=exc)
    return _error(500, "internal server error")


def _handle_not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error(404, str(exc) or "not found")


def _handle_cursor(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error(400, "malformed cursor")


def _over_body_limit(request: Request[Any, Any, Any]) -> str:
    """Litestar's bare "Request Entity Too Large", with the limit the body passed (outside
    attacker, s29)."""
    limit = request.route_handler.resolve_request_max_body_size()
    named = limit == runtime_of(request).core.max_json_body_bytes
    setting = " (SALON_MAX_JSON_BODY_BYTES)" if named else ""
    return f"the request body is larger than the limit of {limit} bytes{setting}"


def _problems(extra: Any) -> str:
    """Litestar's validation problems as words: "session (query): Invalid enum value 'x'",
    not the list's repr with ``<ParamType.QUERY: 'query'>`` in it."""
    if not isinstance(extra, list) or not all(isinstance(item, dict) for item in extra):
        return str(extra)
    said = []
    for item in extra:
        source = getattr(item.get("source"), "value", item.get("source"))
        where = " ".join(filter(None, [item.get("key"), f"({source})" if source else None]))
        said.append(f"{where}: {item.get('message')}" if where else str(item.get("message")))
    return "; ".join(said)


def _handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 404 and wants_html(request):
        return not_found_page(request)
    detail = exc.detail
    if isinstance(exc, RequestEntityTooLarge):
        detail = _over_body_limit(request)
    if exc.status_code == 400 and exc.extra:
        detail = f"{exc.detail}: {_problems(exc.extra)}"
    # A file over the byte limit is "too_large" like one over the pixel limit (both 413).
    reason = "too_large" if isinstance(exc, PayloadTooLarge) else None
    return _error(exc.status_code, str(detail), exc.headers, reason)


# SQLSTATE classes of a database that is down or refusing connections (PostgreSQL).
_DB_DOWN_SQLSTATES = ("08", "53", "57", "55000")


def _database_unavailable(exc: BaseException) -> bool:
    """A lost or refused database connection. Drivers raise their own errors at connect time
    (SQLAlchemy wraps only errors on a live connection), so both kinds are recognised."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    sqlstate = getattr(exc, "sqlstate", None)
    # PoolTimeout: every pooled connection stayed busy past the pool's wait (overload).
    return isinstance(exc, ConnectionError | TimeoutError | PoolTimeout) or (
        isinstance(sqlstate, str) and sqlstate.startswith(_DB_DOWN_SQLSTATES)
    )


def _invalid_data(exc: BaseException) -> bool:
    """The database refused a value from the request (SQLSTATE class 22, "data exception"):
    PostgreSQL refuses NUL characters in text, which SQLite and JSON accept."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return isinstance(exc, DataError) or (isinstance(sqlstate, str) and sqlstate[:2] == "22")


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _invalid_data(exc):
        log.info("value refused by the database on %s: %s", request.url.path, type(exc).__name__)
        return _error(400, "a value in the request cannot be stored (NUL characters in text?)")
    lost = isinstance(exc, DBAPIError) and exc.connection_invalidated
    if lost and retry_read(request.scope):
        # A pooled connection died since its last use (no pre-ping): the read runs again.
        log.warning("database connection lost on %s; reading again", request.url.path)
        return _error(503, "the database is unavailable; try again shortly")
    if _database_unavailable(exc):
        # The class only: SQLAlchemy's message carries the statement and its parameters.
        log.error("database unavailable on %s: %s", request.url.path, type(exc).__name__)
        return _error(503, "the database is unavailable; try again shortly")
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal server error")


# A year, the usual value (and what the HSTS preload list asks for); no includeSubDomains:
# Salon does not know what else runs under its domain.
HSTS = b"max-age=31536000"
API_PREFIX = "/api/"
API_CACHE_CONTROL = b"private, no-store"


def _browser_origins(storage: object) -> Sequence[str]:
    return storage.browser_origins if isinstance(storage, BrowserOrigins) else ()


def security_headers_hook(
    extra_origins: Sequence[str] = (), public_url: str = ""
) -> Callable[[Message, Scope], Awaitable[None]]:
    """A ``before_send`` hook: every HTTP answer gets the security headers, including the 404
    and 405 the router gives before any route (and its middleware) is reached. HSTS goes on
    answers over https: ``SALON_PUBLIC_URL`` says so, or the request (through a trusted proxy)
    came over https when no public URL is set."""
    headers = {
        **SECURITY_HEADERS,
        b"content-security-policy": content_security_policy(extra_origins),
    }
    always_https = public_url.startswith("https://")
    docs_headers = {**headers, b"content-security-policy": DOCS_CSP.encode()}

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        chosen = docs_headers if scope["path"].startswith(DOCS_PREFIX) else headers
        present = {name.lower() for name, _ in message.get("headers", [])}
        extra = [(name, value) for name, value in chosen.items() if name not in present]
        # API answers are one user's data (or say who is signed in): no shared or disk cache
        # keeps them, unless a route chose otherwise (media redirects, share pictures).
        if scope["path"].startswith(API_PREFIX) and b"cache-control" not in present:
            extra.append((b"cache-control", API_CACHE_CONTROL))
        if (always_https or (not public_url and scope.get("scheme") == "https")) and (
            b"strict-transport-security" not in present
        ):
            extra.append((b"strict-transport-security", HSTS))
        message["headers"] = [*message.get("headers", []), *extra]

    return add_security_headers


def _listen_for_changes(runtime: Runtime) -> asyncio.Task[None] | None:
    """On PostgreSQL, follow other processes' commits so the read caches can be trusted."""
    if runtime.changes is None or runtime.engine.url.get_backend_name() != "postgresql":
        return None
    return asyncio.create_task(listen_postgres(runtime.changes, runtime.engine.url))


def runs_inprocess_worker(core: CoreSettings) -> bool:
    """Unset means "with the local queue only"; ``true`` asks for it with any queue. A web
    process that runs jobs also makes renditions, in its niced pool; otherwise a worker does
    both."""
    if core.inprocess_worker is None:
        return core.queue == "local"
    return core.inprocess_worker


def _lifespan(runtime: Runtime) -> Callable[[Litestar], Any]:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Once per process, off the event loop: the first sign-up must not wait for it.
        await asyncio.to_thread(common_passwords.preload)
        await asyncio.to_thread(lookalikes.preload)
        listener = _listen_for_changes(runtime)
        worker = None
        if runs_inprocess_worker(runtime.core):
            from salon.worker import start_inprocess_worker

            worker = await start_inprocess_worker(runtime)
            runtime.services.renditions.start_sweeper()
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            await runtime.services.throttle.aclose()
            await runtime.close()

    return lifespan


def _extend(runtime: Runtime) -> Callable[[AppConfig], AppConfig]:
    def on_app_init(app_config: AppConfig) -> AppConfig:
        from salon.plugin_routes import give_routes_their_context
        from salon.plugins import call_each

        added: dict[str, list[Any]] = {}

        def arguments(plugin: str) -> dict[str, Any]:
            # Called just before the plugin's own extend_app: what it appends from here on is
            # its routes (until the next plugin's call).
            added[plugin] = list(app_config.route_handlers)
            return {"salon": plugin_context(runtime, plugin)}

        try:
            call_each(runtime.pm, "extend_app", per_plugin=arguments, app_config=app_config)
        finally:
            give_routes_their_context(runtime, app_config, added)
        return app_config

    return on_app_init


def create_app(
    runtime: Runtime | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Sequence[object] = (),
) -> Litestar:
    """Build the app. Without ``runtime``, settings are read from ``environ`` (or the process
    environment) and plugins are loaded: the start-up checks happen here."""
    if runtime is None:
        settings, pm, registry = load_settings(environ, extra_plugins=extra_plugins)
        runtime = build_runtime(settings, pm, registry)
    compose(runtime, local_media=runs_inprocess_worker(runtime.core))
    core = runtime.core
    db_config = SQLAlchemyAsyncConfig(
        engine_instance=runtime.engine,
        session_config=AsyncSessionConfig(expire_on_commit=False),
        session_dependency_key="db_session",
        create_all=False,
    )
    handlers: list[Any] = [
        AuthController,
        AccountController,
        me,
        ImageController,
        AlbumController,
        ShareController,
        AlbumShareController,
        DownloadController,
        UploadController,
        SourceController,
        JobController,
        VideoController,
        health,
        ready,
        MetricsController,
    ]
    handlers.extend(web_handlers(runtime.registry))
    app = Litestar(
        route_handlers=handlers,
        dependencies={
            **dependencies(runtime),
            "current_user": Provide(provide_current_user),
            "optional_user": Provide(provide_optional_user),
        },
        plugins=[SQLAlchemyPlugin(config=db_config)],
        exception_handlers={
            NotFound: _handle_not_found,
            CursorError: _handle_cursor,
            SalonError: _handle_salon_error,
            HTTPException: _handle_http,
            Exception: _handle_unexpected,
        },
        # Request id, Litestar's Prometheus metrics and shared reads, in one (issue 19.2).
        middleware=[request_middleware],
        before_send=[
            security_headers_hook(_browser_origins(runtime.storage), public_url=core.public_url)
        ],
        cors_config=CORSConfig(allow_origins=list(core.cors_origins), allow_credentials=True)
        if core.cors_origins
        else None,
        openapi_config=OpenAPIConfig(
            title="Salon",
            version=__version__,
            path=DOCS_PATH,
            render_plugins=render_plugins(),
            components=openapi_components(),
        ),
        logging_config=logging_config(core.log_level, core.log_format),
        # JSON routes; the two upload routes stream with their own limits (images/receive.py).
        request_max_body_size=core.max_json_body_bytes,
        request_class=SalonRequest,
        multipart_form_part_limit=core.max_form_parts,
        guards=[authenticate_first],
        # Only for what runs outside handlers (guards, the request class): salon.domain.deps.
        state=State({"runtime": runtime}),
        lifespan=[_lifespan(runtime)],
        on_app_init=[_extend(runtime)],
        debug=False,
    )
    mark_authenticated(app)  # the OpenAPI security of every route that needs a user
    document_renditions(app, runtime.renditions)  # their names are configuration
    mount_media(app, runtime)  # signed /media/ URLs, answered ahead of the router
    install_cached_listing(app, runtime)  # cached GET /api/images pages, ahead of it too
    # Answers before the body was read (401, 429, 503) reach the client, /media/'s too.
    drain_unread_bodies(app, core.drain_body_bytes, core.body_read_timeout)
    trust_forwarded_headers(app, core.trusted_proxies)  # outermost: every path sees the client
    return app
