"""HTTP to the APOD API and to image hosts: retries, rate-limit headers, error translation.

The key travels in the ``X-Api-Key`` header (api.data.gov accepts it there as well as in the
``api_key`` parameter), so it is never part of a URL: httpx logs request URLs at INFO, and
exception texts and error messages quote URLs. Every message that leaves this module goes
through :func:`scrub` as well, in case the upstream echoes the key back.

httpx retries failed connects itself (transport ``retries``); 5xx answers, 429s and timeouts
are retried with backoff by :meth:`ApodClient._send`, the one retry loop of the plugin.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import msgspec
from salon.errors import SourceError, SourceQueryError, SourceRateLimited

from salon_nasa_apod.fetch_policy import FetchPolicy, RefusedURL
from salon_nasa_apod.settings import ApodSettings

log = logging.getLogger("salon_nasa_apod")

MAX_JSON_BYTES = 8 * 1024 * 1024
MAX_REDIRECTS = 5
"""100 random entries with their explanations are ~150 KB; anything this big is not APOD."""
_ERROR_BODY_BYTES = 16 * 1024
# What the API answers (502) when the upstream cannot be reached; the log keeps host and cause.
UNREACHABLE = "Could not reach NASA's APOD service; try again later"
_KEY_PARAM = re.compile(r"(api_key=)[^&\s\"']+", re.IGNORECASE)

Sleep = Callable[[float], Awaitable[None]]


class ApodRateLimited(SourceRateLimited):
    """NASA answered 429 OVER_RATE_LIMIT and retrying within our bounds did not help; the core
    answers 429 with NASA's ``Retry-After`` and retries an import job after it."""

    def __init__(self, message: str, *, retry_after: float | None, remaining: int | None) -> None:
        super().__init__(message, retry_after)
        self.remaining = remaining


class ApodNoData(Exception):
    """The API's 404 "No data available for date": nothing published for that day (yet)."""


def scrub(text: str, secret: str) -> str:
    """``text`` without ``secret`` and without any ``api_key=...`` URL parameter."""
    if secret:
        text = text.replace(secret, "***")
    return _KEY_PARAM.sub(r"\1***", text)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds asked for by ``Retry-After`` (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


class ApodClient:
    """One lazily made ``httpx.AsyncClient`` per event loop, plus the last quota NASA reported."""

    def __init__(self, settings: ApodSettings, *, sleep: Sleep = anyio.sleep) -> None:
        self._settings = settings
        self._sleep = sleep
        self._client: httpx.AsyncClient | None = None
        self._policy = FetchPolicy(settings.image_hosts, settings.trusted_base)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_rate_limit_remaining: int | None = None
        self.last_rate_limit_limit: int | None = None
        self.requests_sent = 0

    def _http(self) -> httpx.AsyncClient:
        # A client is bound to the loop it first ran on; the CLI and tests run several loops.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._settings.timeout),
                transport=httpx.AsyncHTTPTransport(retries=2),
                headers={"User-Agent": "salon-nasa-apod/0.1"},
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.aclose()
        self._client = None

    def _error(self, message: str, public: str | None = None) -> SourceError:
        return SourceError(scrub(message, self._settings.api_key), public)

    async def get_json(self, params: dict[str, str]) -> Any:
        """GET the API with ``params``; the decoded JSON body of a 200 answer.

        Raises :class:`ApodNoData` for the 404 "No data available", :class:`SourceQueryError`
        for a 400 (the API disagreed with our validation), :class:`ApodRateLimited` and
        :class:`SourceError` for everything else that went wrong.
        """
        headers = {"X-Api-Key": self._settings.api_key, "Accept": "application/json"}
        response = await self._send(self._settings.base_url, params=params, headers=headers)
        try:
            if response.status_code == 200:
                body = await self._read(response, MAX_JSON_BYTES)
                try:
                    return msgspec.json.decode(body)
                except msgspec.DecodeError:
                    raise self._error("NASA APOD answered with invalid JSON") from None
            detail = _error_detail(await self._read(response, _ERROR_BODY_BYTES))
        finally:
            await response.aclose()
        status = response.status_code
        if status == 404 and "no data available" in detail.lower():
            raise ApodNoData(scrub(detail, self._settings.api_key))
        if status == 400:
            raise SourceQueryError(
                f"NASA APOD refused the query: {scrub(detail, self._settings.api_key)}"
            )
        if status in (401, 403):
            raise self._error(
                f"NASA APOD refused the API key ({detail or status}); check SALON_APOD_API_KEY"
            )
        raise self._error(f"NASA APOD answered HTTP {status}: {detail}")

    async def stream(self, url: str, *, max_bytes: int) -> AsyncIterator[bytes]:
        """Stream the body at ``url`` (an image host: no key is sent), at most ``max_bytes``."""
        response = await self._open_image(url)
        url = str(response.url)
        try:
            if response.status_code != 200:
                raise self._error(f"downloading {url} failed: HTTP {response.status_code}")
            declared = _int_header(response, "content-length")
            if declared is not None and declared > max_bytes:
                raise self._error(f"{url} is {declared} bytes; the limit is {max_bytes}")
            seen = 0
            try:
                async for chunk in response.aiter_bytes():
                    seen += len(chunk)
                    if seen > max_bytes:
                        raise self._error(f"{url} is larger than the limit of {max_bytes} bytes")
                    yield chunk
            except httpx.HTTPError as exc:
                raise self._error(f"downloading {url} failed: {type(exc).__name__}") from None
        finally:
            await response.aclose()

    async def _open_image(self, url: str) -> httpx.Response:
        """GET ``url``, following redirects one by one: each target is checked by the fetch
        policy (https, allowed host, public address) before anything is sent to it."""
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                await self._policy.check(url)
            except RefusedURL as exc:
                raise self._error(f"image not fetched: {exc}") from None
            response = await self._send(url, params=None, headers={}, follow_redirects=False)
            location = response.headers.get("location")
            if not response.is_redirect or not location:
                return response
            await response.aclose()
            url = str(response.url.join(location))
        raise self._error(f"image not fetched: more than {MAX_REDIRECTS} redirects")

    async def _read(self, response: httpx.Response, limit: int) -> bytes:
        body = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise self._error(f"NASA APOD answer larger than {limit} bytes")
        except httpx.HTTPError as exc:
            raise self._error(f"reading NASA APOD's answer failed: {type(exc).__name__}") from None
        return bytes(body)

    def _note_quota(self, response: httpx.Response) -> None:
        remaining = _int_header(response, "x-ratelimit-remaining")
        if remaining is not None:
            self.last_rate_limit_remaining = remaining
            self.last_rate_limit_limit = _int_header(response, "x-ratelimit-limit")
            if remaining < 5:
                log.warning("NASA APOD quota nearly used up: %d requests left", remaining)

    async def _send(
        self,
        url: str,
        *,
        params: dict[str, str] | None,
        headers: dict[str, str],
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send a GET, retrying 5xx, 429 and timeouts at most ``max_retries`` times.

        Waits ``backoff * 2**attempt`` seconds between attempts, or the ``Retry-After`` of a 429
        when it is given and at most ``max_retry_after`` (a longer one fails at once: the caller
        should not hang for an hour). Returns the (streamed) response of any other status.
        """
        settings = self._settings
        client = self._http()
        for attempt in range(settings.max_retries + 1):
            wait = settings.backoff * 2**attempt
            try:
                request = client.build_request("GET", url, params=params, headers=headers)
                self.requests_sent += 1
                response = await client.send(
                    request, stream=True, follow_redirects=follow_redirects
                )
            except httpx.TimeoutException:
                failure: SourceError = self._error(
                    f"NASA APOD did not answer within {settings.timeout} s", UNREACHABLE
                )
            except httpx.ConnectError as exc:
                # The transport already retried the connect: the host is not there.
                raise self._error(f"cannot connect to {_host(url)}: {exc}", UNREACHABLE) from None
            except httpx.TransportError as exc:
                failure = self._error(
                    f"connection to {_host(url)} failed: {type(exc).__name__}", UNREACHABLE
                )
            else:
                self._note_quota(response)
                status = response.status_code
                if status != 429 and status < 500:
                    return response
                detail = _error_detail(await self._read(response, _ERROR_BODY_BYTES))
                await response.aclose()
                if status == 429:
                    retry_after = _retry_after(response)
                    failure = self._rate_limited(detail, retry_after)
                    if retry_after is not None:
                        if retry_after > settings.max_retry_after:
                            raise failure
                        wait = retry_after
                else:
                    failure = self._error(f"NASA APOD answered HTTP {status}: {detail}")
            if attempt == settings.max_retries:
                raise failure
            log.info(
                "NASA APOD request failed (%s); retry %d of %d in %.1f s",
                failure,
                attempt + 1,
                settings.max_retries,
                wait,
            )
            await self._sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _rate_limited(self, detail: str, retry_after: float | None) -> ApodRateLimited:
        remaining = self.last_rate_limit_remaining
        parts = [f"NASA APOD rate limit exceeded ({detail or 'HTTP 429'})"]
        if remaining is not None:
            parts.append(f"{remaining} requests remaining")
        if retry_after is not None:
            parts.append(f"retry after {retry_after:.0f} s")
        if self._settings.api_key == "DEMO_KEY":
            parts.append("DEMO_KEY allows few requests; set SALON_APOD_API_KEY to your own key")
        message = scrub("; ".join(parts), self._settings.api_key)
        return ApodRateLimited(message, retry_after=retry_after, remaining=remaining)


def _host(url: str) -> str:
    return httpx.URL(url).host or "?"


def _error_detail(body: bytes) -> str:
    """The message of an API error body: ``{"msg"}`` (APOD) or ``{"error": {"code"}}``
    (api.data.gov's gateway); else the start of the text."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("code"):
            return str(error["code"])
        for key in ("msg", "message"):
            if data.get(key):
                return str(data[key])[:300]
    return str(data)[:200]
