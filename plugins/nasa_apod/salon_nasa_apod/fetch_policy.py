"""Which image URLs the APOD source fetches: the URL comes from the API's answer, so it is not
trusted (a redirect to 127.0.0.1 or 169.254.169.254 would otherwise be fetched and stored).

Every URL, the first and each redirect's, must be https, on a host of ``image_hosts``, and
resolve only to public addresses (no private, loopback, link-local, multicast or reserved
ones). One exception: an explicitly configured ``base_url`` (a test or local API, not NASA's)
is trusted for images too, on exactly its own scheme, host and port.

The address is checked when the URL is checked; the connection resolves the name again, so a
DNS answer that changes in between (rebinding) is not caught here. The host allow-list is what
keeps that window closed: only NASA's and the video sites' names are fetched.
"""

from __future__ import annotations

import ipaddress
import socket

import anyio
import httpx

__all__ = ["DEFAULT_IMAGE_HOSTS", "FetchPolicy", "RefusedURL"]

# The hosts api.nasa.gov's answers point at: images on apod.nasa.gov, video thumbnails on
# YouTube's and Vimeo's image hosts.
DEFAULT_IMAGE_HOSTS = "apod.nasa.gov,img.youtube.com,i.ytimg.com,i.vimeocdn.com"


class RefusedURL(ValueError):
    """An image URL (or a redirect target) the policy does not allow; the message says why."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved)


class FetchPolicy:
    """``check(url)`` raises :class:`RefusedURL` unless the URL may be fetched."""

    def __init__(self, image_hosts: str, trusted_base: str | None = None) -> None:
        self.hosts = frozenset(h.strip().lower() for h in image_hosts.split(",") if h.strip())
        self._trusted = _origin(httpx.URL(trusted_base)) if trusted_base else None

    async def check(self, url: str) -> None:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            raise RefusedURL(f"not a valid URL: {url[:200]}") from None
        if self._trusted is not None and _origin(parsed) == self._trusted:
            return
        host = (parsed.host or "").lower()
        if parsed.scheme != "https":
            raise RefusedURL(f"only https image URLs are fetched, not {url[:200]}")
        if host not in self.hosts:
            raise RefusedURL(f"image host {host!r} is not allowed (SALON_APOD_IMAGE_HOSTS)")
        for address in await _addresses(host, parsed.port or 443):
            if not _public(address):
                raise RefusedURL(f"image host {host!r} resolves to a non-public address")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, (url.host or "").lower(), url.port or default


async def _addresses(host: str, port: int) -> list[str]:
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedURL(f"cannot resolve image host {host!r}: {exc.strerror or exc}") from None
    return [str(info[4][0]) for info in infos]
