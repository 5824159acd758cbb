"""The user pool's signing keys, cached per ``kid``.

Keys are fetched once at start-up. A token whose ``kid`` is not cached triggers a refetch (the
pool rotated its keys), at most once per ``refresh_interval`` seconds however many such tokens
arrive, so a flood of forged ``kid`` values cannot turn into a flood of requests. When a fetch
fails the cached keys stay in use: a JWKS outage does not stop valid tokens from validating.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import httpx

__all__ = ["JwksCache"]

log = logging.getLogger("salon.auth.cognito.jwks")

MAX_JWKS_BYTES = 256 * 1024


def parse_jwks(document: Any) -> dict[str, dict[str, Any]]:
    """The usable RSA signing keys of a JWKS document, by ``kid``. Raises ValueError."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, dict[str, Any]] = {}
    for key in document["keys"]:
        if not isinstance(key, Mapping):
            continue
        kid = key.get("kid")
        if (
            isinstance(kid, str)
            and key.get("kty") == "RSA"
            and key.get("use", "sig") == "sig"
            and key.get("alg", "RS256") == "RS256"
            and isinstance(key.get("n"), str)
            and isinstance(key.get("e"), str)
        ):
            keys[kid] = dict(key)
    return keys


class JwksCache:
    """Signing keys of one JWKS URL (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        refresh_interval: float = 10.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._interval = refresh_interval
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._last_attempt: float | None = None
        self._lock = anyio.Lock()
        self.fetches = 0  # attempts made, for tests and metrics

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def load(self) -> bool:
        """Fetch the keys synchronously (start-up). Returns whether it worked; never raises."""
        self._last_attempt = self._clock()
        self.fetches += 1
        try:
            with httpx.Client(timeout=self._timeout) as client:
                response = client.get(self.url)
            self._accept(response)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch from %s failed (%s); will retry on demand", self.url, exc)
            return False
        return True

    async def get(self, kid: str) -> dict[str, Any] | None:
        """The key ``kid``, refetching the JWKS if it is unknown and the interval allows."""
        key = self._keys.get(kid)
        if key is not None or not self._may_fetch():
            return key
        async with self._lock:
            key = self._keys.get(kid)
            if key is None and self._may_fetch():  # nobody refetched while we waited
                await self._fetch()
                key = self._keys.get(kid)
        return key

    def _may_fetch(self) -> bool:
        return self._last_attempt is None or self._clock() - self._last_attempt >= self._interval

    async def _fetch(self) -> None:
        self._last_attempt = self._clock()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self.url)
            self._accept(response)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS refetch from %s failed (%s); keeping cached keys", self.url, exc)

    def _accept(self, response: httpx.Response) -> None:
        response.raise_for_status()
        if len(response.content) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        keys = parse_jwks(response.json())
        added = set(keys) - set(self._keys)
        if added and self._keys:
            log.info("JWKS rotated: new key ids %s", sorted(added))
        # Replace rather than merge: a key the pool dropped must stop being trusted.
        self._keys = keys
