"""One raw ASGI middleware for what every routed request needs: its id, its metrics and the
place for its shared read session (issue 19.2).

Three middlewares used to do this (``request_id_middleware``, Litestar's
``PrometheusMiddleware``, ``shared_reads_middleware``), each with its own ``send`` wrapper, and
Prometheus building a ``Request`` and looking up each metric's labelled child on every request:
a profile of a cached ``GET /api/images`` put a quarter of the worker's CPU there. What stays
the same:

- **request id**: the client's ``X-Request-Id`` when it looks like one, else a new one; bound
  for the request's log lines (``salon.logs``) and echoed in the answer's ``X-Request-Id``;
- **metrics**: Litestar's names and labels (``litestar_requests_total``,
  ``litestar_request_duration_seconds``, ``litestar_requests_in_progress``,
  ``litestar_requests_error_total``; ``method``, ``path`` (the route's template),
  ``status_code``, ``app_name``), in prometheus_client's default registry, which ``/metrics``
  serves; the labelled children are kept per label values instead of looked up each time;
- **shared reads**: routes with ``opt={"shared_reads": True}`` get one read session
  (:mod:`salon.db.reads`), closed when the response starts.

It also runs a read once more when its database connection was lost (:func:`retry_read`, asked
for by the app's error handler): SQLAlchemy's "optimistic" disconnect handling, instead of
``pool_pre_ping``'s ``SELECT 1`` round trip before every checkout. A killed connection fails
its statement, the pool drops every connection as old as it, and the GET runs again on a new
one; the client sees one answer. Writes are not run again (a 503 says to try again).
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from typing import Any, Final

from litestar.plugins.prometheus.middleware import PrometheusMiddleware
from litestar.types import ASGIApp, Receive, Send
from litestar.utils.scope.state import ScopeState
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from salon import logs
from salon.db.reads import SharedReads, begin_shared_reads, end_shared_reads

__all__ = ["METRICS", "RequestMetrics", "new_request_id", "request_middleware", "retry_read"]

APP_NAME: Final = "salon"
PREFIX: Final = "litestar"  # PrometheusConfig's default: dashboards and tests use these names
LABELS: Final = ("method", "path", "status_code", "app_name")
REQUEST_ID_HEADER: Final = b"x-request-id"

# A client's (or the load balancer's) request id is kept when it looks like one, else replaced:
# it ends up in every log line, so it must not carry anything else.
_SAFE_ID = re.compile(rb"[A-Za-z0-9._:=-]{1,128}")


def new_request_id(headers: Any) -> str:
    """The request's id from its raw ASGI headers."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if _SAFE_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return uuid.uuid4().hex


def _metric(kind: type[Any], suffix: str, documentation: str, **kwargs: Any) -> Any:
    # Litestar's registry of these metrics (a class attribute), so that a second app in the
    # process, or a plugin's own PrometheusMiddleware, finds them instead of registering twice.
    name = f"{PREFIX}_{suffix}"
    known = PrometheusMiddleware._metrics
    if name not in known:
        known[name] = kind(name=name, documentation=documentation, labelnames=LABELS, **kwargs)
    return known[name]


class RequestMetrics:
    """Litestar's request metrics, with each label combination's children kept."""

    def __init__(self) -> None:
        self.count: Counter = _metric(Counter, "requests_total", "Total requests")
        self.time: Histogram = _metric(
            Histogram, "request_duration_seconds", "Request duration, in seconds"
        )
        self.in_progress: Gauge = _metric(
            Gauge,
            "requests_in_progress",
            "Total requests currently in progress",
            multiprocess_mode="livesum",
        )
        self.errors: Counter = _metric(Counter, "requests_error_total", "Total errors in requests")
        self._started: dict[tuple[str, str], Any] = {}
        self._done: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}

    def started(self, method: str, path: str) -> Any:
        """The in-progress gauge's child for this route (Litestar labels it status 200)."""
        key = (method, path)
        gauge = self._started.get(key)
        if gauge is None:
            gauge = self._started[key] = self.in_progress.labels(method, path, 200, APP_NAME)
        return gauge

    def finished(self, method: str, path: str, status: int, seconds: float) -> None:
        key = (method, path, status)
        children = self._done.get(key)
        if children is None:
            values = (method, path, status, APP_NAME)
            error = self.errors.labels(*values) if status >= 500 else None
            children = (self.count.labels(*values), self.time.labels(*values), error)
            self._done[key] = children
        count, duration, error = children
        if error is not None:
            error.inc()
        count.inc()
        duration.observe(seconds)


METRICS: Final = RequestMetrics()


# Requests that change nothing, which may run twice: once more after a lost connection.
_RETRIED_METHODS: Final = frozenset({"GET", "HEAD"})
_RETRY: Final = "salon_retry_read"


class _Span:
    __slots__ = ("duration", "held", "rid", "shared", "started", "status")

    def __init__(self, rid: bytes, shared: SharedReads | None) -> None:
        self.rid = rid
        self.shared = shared
        self.held = False
        self.started = time.perf_counter()
        self.status = 200
        self.duration = 0.0


async def _attempt(
    app: ASGIApp, scope: Any, receive: Receive, send: Send, span: _Span, wants_shared: bool
) -> None:
    shared = span.shared = begin_shared_reads() if wants_shared else None
    try:
        await app(scope, receive, send)
    finally:
        if shared is not None:
            await end_shared_reads(shared)


def retry_read(scope: Any) -> bool:
    """Ask for the request to be run once more, when it only reads (GET, HEAD) and was not
    run again already; True when it will be (its error answer is then not sent)."""
    if scope.get("type") != "http" or scope.get("method") not in _RETRIED_METHODS:
        return False
    if _RETRY in scope:
        return False
    scope[_RETRY] = True
    return True


# Where advanced-alchemy keeps the request's session in the scope (its _utils module).
_AA_SCOPE_STATE: Final = "_aa_connection_state"


async def _drop_request_sessions(scope: Any) -> None:
    """Before a read runs again: a request session the first attempt left behind (its close at
    the answer failed on the dead connection) would be handed to the retry, which then fails
    on its invalid transaction. Discard it, connection and all."""
    for value in (scope.pop(_AA_SCOPE_STATE, None) or {}).values():
        if isinstance(value, AsyncSession):
            with contextlib.suppress(Exception):
                await value.invalidate()


def request_middleware(app: ASGIApp) -> ASGIApp:
    """The request id, metrics and shared reads of every routed request (module docstring)."""

    async def middleware(scope: Any, receive: Receive, send: Send) -> None:
        # Any: the raw ASGI dicts, read and written by key (Litestar's TypedDicts per event).
        http = scope["type"] == "http"
        method = scope["method"] if http else scope["type"]
        gauge = METRICS.started(method, scope["path_template"])
        gauge.inc()
        if not http:
            span = _Span(b"", None)
            try:
                await app(scope, receive, send)
            finally:
                gauge.dec()
                METRICS.finished(method, scope["path_template"], span.status, span.duration)
            return
        rid = new_request_id(scope["headers"])
        handler = scope.get("route_handler")
        wants_shared = handler is not None and handler.opt.get("shared_reads")
        span = _Span(rid.encode(), None)
        retry = scope["method"] in _RETRIED_METHODS

        async def send_wrapper(message: Any) -> None:
            kind = message["type"]
            if span.held:
                return  # the answer of an attempt that is run again
            if kind == "http.response.start":
                if retry and scope.get(_RETRY) is True:
                    span.held = True
                    return
                span.status = message["status"]
                message["headers"] = [*message.get("headers", ()), (REQUEST_ID_HEADER, span.rid)]
                if span.shared is not None and not span.shared.closed:
                    await span.shared.close()
            elif kind == "http.response.body":
                span.duration = time.perf_counter() - span.started
            await send(message)

        tokens = logs.enter_request(rid)
        try:
            await _attempt(app, scope, receive, send_wrapper, span, wants_shared)
            if span.held:  # a read that lost its connection: once more, on a new one
                span.held = False
                scope[_RETRY] = False
                await _drop_request_sessions(scope)
                # Litestar noted the held answer as started; this attempt's errors are answered.
                ScopeState.from_scope(scope).response_started = False
                await _attempt(app, scope, receive, send_wrapper, span, wants_shared)
        finally:
            logs.leave_request(tokens)
            gauge.dec()
            METRICS.finished(method, scope["path_template"], span.status, span.duration)

    return middleware
