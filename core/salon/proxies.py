"""Requests that arrive through a reverse proxy (the nginx front, an AWS load balancer).

A proxy connects to Salon itself, so without help every request seems to come from the proxy,
over plain http, to the proxy's upstream address. Proxies say what they saw in
``X-Forwarded-For`` / ``-Proto`` / ``-Host``; anyone can send those headers, so they are honoured
only when the direct peer is in ``SALON_TRUSTED_PROXIES`` (addresses or CIDR ranges, none by
default). The client address and scheme are rewritten by granian's own proxy-headers wrapper
(the rightmost untrusted ``X-Forwarded-For`` entry is the client); the host is rewritten here,
ahead of routing, so every route, the rate limits and ``/media/`` see the same request.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # settings.py imports this module: keep it light at import time
    from litestar import Litestar, Request
    from litestar.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("salon.proxies")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> tuple[Network, ...]:
    """``SALON_TRUSTED_PROXIES`` entries as networks; a bad entry raises ValueError naming it."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(
                f"trusted_proxies: {value!r} is not an IP address or CIDR range"
            ) from None
    return tuple(networks)


def _trusted(host: str | None, networks: Sequence[Network]) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _forwarded_host(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The host the nearest proxy saw: the last entry of the last X-Forwarded-Host header."""
    found = None
    for name, value in headers:
        if name == b"x-forwarded-host":
            found = value.rsplit(b",", 1)[-1].strip() or found
    return found


def trust_forwarded_headers(app: Litestar, trusted: Sequence[str]) -> None:
    """Rewrite client, scheme and host from the forwarded headers of trusted proxies only.

    Like :func:`salon.domain.images.serving.mount_media`, this wraps ``app.asgi_handler`` so it
    runs before the router: ``/media/`` and the router's own 404s see the real request too."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    networks = parse_networks(trusted)
    if not networks:
        return
    inner: ASGIApp = app.asgi_handler
    # granian takes strings; the networks are already validated above.
    forwarded: Any = wrap_asgi_with_proxy_headers(inner, [str(n) for n in networks])

    async def handler(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if _trusted(client[0] if client else None, networks):
                host = _forwarded_host(list(scope["headers"]))
                if host is not None:
                    headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
                    scope["headers"] = [*headers, (b"host", host)]
        await forwarded(scope, receive, send)

    app.asgi_handler = handler


def public_base_url(request: Request[Any, Any, Any], public_url: str) -> str:
    """Where the gallery is reached from outside, for links that leave the browser session
    (share links, e-mails): ``SALON_PUBLIC_URL`` when set, else this request's own origin
    (after a trusted proxy's headers were applied)."""
    if public_url:
        return public_url
    return str(request.base_url).rstrip("/")


def mail_base_url(request: Request[Any, Any, Any], public_url: str) -> str:
    """Where links mailed to someone else point (a password reset): ``SALON_PUBLIC_URL`` when
    set; else this request's own origin, but only when its host names the very address the
    connection reached (``http://127.0.0.1:8000``; ``localhost`` for a loopback one). Any
    other host is the sender's to choose, even through a trusted proxy that forwards the
    client's Host (the documented nginx front does): a reset link to it would hand the code
    to whoever sent the request. Then ``""``, a relative link, and a warning to set
    ``SALON_PUBLIC_URL``."""
    if public_url:
        return public_url
    server = request.scope.get("server")
    url = request.base_url
    port = url.port or (443 if url.scheme == "https" else 80)
    if server and url.hostname and _names_address(url.hostname, port, server):
        return str(url).rstrip("/")
    log.warning(
        "a mailed link is relative: set SALON_PUBLIC_URL (the request's host %r is not "
        "the address it reached, so it is not trusted for links)",
        url.hostname,
    )
    return ""


def _names_address(host: str, port: int, server: Sequence[Any]) -> bool:
    server_host, server_port = str(server[0]).lower(), server[1]
    if server_port is not None and int(server_port) != port:
        return False
    host = host.lower().strip("[]")
    if host == server_host:
        return True
    try:
        return host == "localhost" and ipaddress.ip_address(server_host).is_loopback
    except ValueError:
        return False


def is_https(request: Request[Any, Any, Any], public_url: str) -> bool:
    """Whether the gallery is served over https (Secure cookies, HSTS)."""
    if public_url:
        return public_url.startswith("https://")
    return request.url.scheme == "https"
