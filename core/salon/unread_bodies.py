"""Answers given before the request body was read reach the client (issue 17).

Many answers come before the body is read, on purpose: 401 (authentication comes first), 429
(upload slots), 503 (the media backlog is full), 413 (a declared length over the limit). The
server then closes the connection with the unread bytes still arriving, and the kernel answers
those with a reset, which often destroys the answer on its way: the client sees a transport
error (httpx ``ReadError``, a browser's network error) instead of the status it could act on.
Under the hostile load test 8 % of the honest uploads refused with 503 ended that way.

So before such an answer starts, the rest of the body is read and dropped, as a web server's
"lingering close" does: at most ``SALON_DRAIN_BODY_BYTES`` (a small upload; a bigger remainder,
declared or found, is not read: the connection closes as before) and within
``SALON_BODY_READ_TIMEOUT`` seconds. A 413 drains nothing: its point is not to read the body;
nor does a 408: its sender already paused that long, and draining made the answer wait another
pause (30 s where the message says 15; outside attacker, s29).

An answer that starts with the body still unread after that (a 413, a 408, a remainder too big
to drain) carries ``Connection: close``: the server closes the connection after it, and a
keep-alive client that was not told so sent its next request on a dead connection (httpx:
"Server disconnected without sending a response").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from litestar.enums import ScopeType

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import (
        ASGIApp,
        HTTPResponseStartEvent,
        Message,
        Receive,
        ReceiveMessage,
        Scope,
        Send,
    )

__all__ = ["drain_unread_bodies"]

TOO_LARGE = 413
TOO_SLOW = 408


def _declared(scope: Scope) -> int | None:
    """The body's declared length; ``None`` when chunked (unknown), 0 without a body."""
    length: int | None = 0
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
        if name == b"transfer-encoding":
            length = None
    return length


async def _drain(receive: Receive, budget: int, seconds: float) -> bool:
    """Read and drop body messages until the body ends, ``budget`` bytes or ``seconds``;
    whether the body ended."""
    with anyio.move_on_after(seconds):
        while budget >= 0:
            message = await receive()
            if message["type"] != "http.request":
                return False
            budget -= len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
    return False


def _closing(message: HTTPResponseStartEvent) -> HTTPResponseStartEvent:
    """The response start ``message`` with ``Connection: close`` (see the module docstring)."""
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
    return {**message, "headers": [*headers, (b"connection", b"close")]}


def drain_unread_bodies(app: Litestar, limit: int, seconds: float) -> None:
    """Wrap ``app.asgi_handler`` so an answer started before the body was read drains it first
    (see the module docstring)."""
    inner: ASGIApp = app.asgi_handler

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        declared = _declared(scope) if scope["type"] == ScopeType.HTTP else 0
        if declared == 0:
            await inner(scope, receive, send)
            return
        received = 0
        ended = False

        async def tracking_receive() -> ReceiveMessage:
            nonlocal received, ended
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                ended = ended or not message.get("more_body", False)
            else:
                ended = True
            return message

        async def draining_send(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start" and not ended:
                ended = True
                left = limit if declared is None else declared - received
                refusing_body = message["status"] in (TOO_LARGE, TOO_SLOW)
                drainable = not refusing_body and 0 < left <= limit
                if left != 0 and not (drainable and await _drain(receive, left, seconds)):
                    message = _closing(message)
            await send(message)

        await inner(scope, tracking_receive, draining_send)

    app.asgi_handler = handler
