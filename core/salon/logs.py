"""Structured logs: every line can say which request, user and job it belongs to.

``SALON_LOG_FORMAT=json`` (production: CloudWatch Logs Insights queries fields) writes one JSON
object a line with ``time``, ``level``, ``logger``, ``message`` and, when known,
``request_id``, ``user_id`` and ``job_id``; ``text`` (the default) keeps lines for people. The
ids live in context variables set by the request middleware, the authentication dependency
and the worker, and a filter copies them onto each record in the thread that logged it
(Litestar formats records on a queue listener thread, where the context is gone).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

__all__ = [
    "CONTEXT_FIELDS",
    "ContextFilter",
    "JsonFormatter",
    "bind",
    "enter_request",
    "install",
    "leave_request",
]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
user_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("user_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
CONTEXT_FIELDS: Final = {"request_id": request_id, "user_id": user_id, "job_id": job_id}


class ContextFilter(logging.Filter):
    """Copies the context's ids onto the record (in the logging thread); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT_FIELDS.items():
            if not hasattr(record, name):
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def install(handler: logging.Handler, log_format: str) -> None:
    """Give ``handler`` the context filter and the formatter of ``log_format``."""
    handler.addFilter(ContextFilter())
    handler.setFormatter(formatter(log_format))


@contextlib.contextmanager
def bind(**ids: str | None) -> Iterator[None]:
    """Set some of ``request_id``/``user_id``/``job_id`` for the code inside."""
    tokens = [
        (CONTEXT_FIELDS[name], CONTEXT_FIELDS[name].set(value)) for name, value in ids.items()
    ]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


RequestTokens = tuple[contextvars.Token[str | None], contextvars.Token[str | None]]


def enter_request(rid: str) -> RequestTokens:
    """Bind a new request's id (and no user yet) for its log lines; undo with
    :func:`leave_request`. The request middleware (salon.request_middleware) calls both."""
    return request_id.set(rid), user_id.set(None)


def leave_request(tokens: RequestTokens) -> None:
    user_id.reset(tokens[1])
    request_id.reset(tokens[0])
