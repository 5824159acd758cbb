"""Which requests come from inside: the addresses in ``SALON_INTERNAL_ALLOW`` (loopback by
default), talking to Salon directly.

A request a proxy relayed (it carries ``Forwarded`` or ``X-Forwarded-For``) is never internal,
whatever the proxy's own address: behind the nginx front every client arrives from loopback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import cache
from typing import Any

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
RELAY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


@cache
def _networks(allow: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in allow)


def address_allowed(host: str | None, allow: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False  # not an address (an ASGI test client's "testclient")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(tuple(allow)))


def is_internal(connection: ASGIConnection[Any, Any, Any, Any], allow: Sequence[str]) -> bool:
    if any(name in connection.headers for name in RELAY_HEADERS):
        return False
    client = connection.client
    return address_allowed(client.host if client else None, allow)
