"""A fake APOD API for tests: a real HTTP server on 127.0.0.1 that reproduces NASA's quirks.

Public so that the core's import tests can use it too::

    with FakeApodServer() as fake:
        settings = ApodSettings(api_key=fake.api_key, base_url=fake.base_url)

It answers ``GET /planetary/apod`` like api.nasa.gov does (checked against the API's documented
and observed behaviour): the key in ``X-Api-Key`` or ``api_key``; ``date``, ``start_date``/
``end_date``, ``count``, ``thumbs``; 400 ``{"code", "msg"}`` for bad queries; 404 "No data
available for date: ..." for a day without an entry (and for today before it is published);
ranges skip missing days; ``X-RateLimit-Limit``/``X-RateLimit-Remaining`` on every answer and
429 ``OVER_RATE_LIMIT`` once the quota is spent. ``script`` queues canned answers (5xx, 429 with
``Retry-After``, slow answers for timeouts) served before the normal behaviour. Images are
generated JPEGs under ``/images/<name>.jpg``; ``redirects`` maps a name to a URL that
``/redirect/<name>`` answers 302 to (how a hostile image host would send a client elsewhere).

The default data (``today`` 2024-03-10) holds one of each kind of entry: see ``QUIRK_DATES``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

FAKE_TODAY = dt.date(2024, 3, 10)
FIRST_DATE = dt.date(1995, 6, 16)
API_PATH = "/planetary/apod"
QUIRK_DATES: dict[str, dt.date] = {
    "image": dt.date(2024, 3, 1),  # hdurl and a copyright padded with newlines
    "video": dt.date(2024, 3, 2),  # YouTube embed, protocol-relative; thumbnail on thumbs=true
    "missing": dt.date(2024, 3, 3),  # the API has no entry: skipped in ranges, 404 alone
    "no_hdurl": dt.date(2024, 3, 4),  # image with url only, and no copyright (public domain)
    "other": dt.date(2024, 3, 5),  # media_type "other" with no url at all
}


@dataclass(frozen=True, slots=True)
class Canned:
    """One scripted API answer; ``delay`` seconds pass before it is sent (timeouts)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Seen:
    """A request the server received."""

    path: str
    query: str
    params: dict[str, str]
    headers: dict[str, str]


def rate_limited(retry_after: str | None = None) -> Canned:
    """api.data.gov's 429, optionally with a ``Retry-After``."""
    body = {
        "error": {
            "code": "OVER_RATE_LIMIT",
            "message": "You have exceeded your rate limit. Try again later or contact us at "
            "https://api.nasa.gov:443/contact/ for assistance",
        }
    }
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return Canned(429, body, headers)


def jpeg_bytes(seed: str, size: tuple[int, int] = (320, 240)) -> bytes:
    """A decodable JPEG, noisy so that it does not compress to almost nothing."""
    rng = random.Random(seed)
    noise = Image.effect_noise(size, 80).convert("RGB")
    tint = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    out = io.BytesIO()
    Image.blend(noise, tint, 0.5).save(out, "JPEG", quality=90)
    return out.getvalue()


class FakeApodServer:
    """The fake API; use as a context manager, or ``start()``/``stop()``."""

    def __init__(
        self,
        *,
        api_key: str = "fake-apod-key-7c1e",
        today: dt.date = FAKE_TODAY,
        rate_limit: int = 1000,
        published_today: bool = True,
    ) -> None:
        self.api_key = api_key
        self.today = today
        self.rate_limit = rate_limit
        self.remaining = rate_limit
        self.published_today = published_today
        self.missing: set[dt.date] = {QUIRK_DATES["missing"]}
        self.records: dict[dt.date, dict[str, Any]] = {}
        self.script: deque[Canned] = deque()
        self.requests: list[Seen] = []
        self.images: dict[str, bytes] = {}
        self.chunked_images: set[str] = set()
        self.redirects: dict[str, str] = {}
        self.errors: list[BaseException] = []
        """Exceptions the request handler raised (clients hanging up are not errors)."""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeApodServer:
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        server.errors = self.errors
        self._server = server
        # A short poll interval: shutdown() waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeApodServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin + API_PATH

    @property
    def api_requests(self) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.requests if seen.path == API_PATH]

    def image_url(self, name: str) -> str:
        return f"{self.origin}/images/{name}.jpg"

    # ------------------------------------------------------------------ data

    def record(self, day: dt.date, *, thumbs: bool) -> dict[str, Any] | None:
        """The API's record for ``day``, or ``None`` when it has none."""
        if day in self.missing or (day == self.today and not self.published_today):
            return None
        record = dict(self.records[day]) if day in self.records else self._default_record(day)
        if not thumbs:
            record.pop("thumbnail_url", None)
        return record

    def _default_record(self, day: dt.date) -> dict[str, Any]:
        iso = day.isoformat()
        record: dict[str, Any] = {
            "date": iso,
            "title": f"Fake Nebula {iso}",
            "explanation": f"What the fake sky showed on {iso}.",
            "media_type": "image",
            "service_version": "v1",
            "url": self.image_url(iso),
            "hdurl": self.image_url(iso + "-hd"),
            "copyright": "\nJane Astronomer\n",
        }
        if day == QUIRK_DATES["video"]:
            record.update(
                title="A Fake Flyby",
                media_type="video",
                url="//www.youtube.com/embed/fakeflyby?rel=0",
                thumbnail_url=self.image_url(iso + "-thumb"),
            )
            del record["hdurl"]
        elif day == QUIRK_DATES["no_hdurl"]:
            del record["hdurl"]
            del record["copyright"]
        elif day == QUIRK_DATES["other"]:
            record.update(title="An Interactive Fake", media_type="other")
            del record["url"], record["hdurl"]
        return record

    def image(self, name: str) -> bytes:
        with self._lock:
            if name not in self.images:
                self.images[name] = jpeg_bytes(name)
            return self.images[name]

    # ------------------------------------------------------------------ the API

    def answer(self, params: dict[str, str], headers: dict[str, str]) -> Canned:
        """What the API answers to ``params`` (called by the request handler)."""
        key = headers.get("x-api-key") or params.get("api_key")
        if not key:
            return Canned(403, _gateway_error("API_KEY_MISSING", "No api_key was supplied."))
        if key != self.api_key:
            return Canned(403, _gateway_error("API_KEY_INVALID", "An invalid api_key."))
        with self._lock:
            self.remaining -= 1
            remaining = self.remaining
            canned = self.script.popleft() if self.script else None
        quota = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
        }
        if canned is not None:
            return Canned(canned.status, canned.body, quota | canned.headers, canned.delay)
        if remaining < 0:
            over = rate_limited()
            return Canned(over.status, over.body, quota)
        answer = self._query(params)
        return Canned(answer.status, answer.body, quota)

    def _query(self, params: dict[str, str]) -> Canned:
        allowed = {"api_key", "date", "start_date", "end_date", "count", "thumbs", "hd"}
        allowed.add("concept_tags")
        if set(params) - allowed or ("count" in params and set(params) & {"date", "start_date"}):
            return _bad_request(
                "Bad Request: invalid field combination passed. Allowed request fields for apod "
                "method are 'concept_tags', 'date', 'hd', 'count', 'start_date', 'end_date', "
                "'thumbs'"
            )
        thumbs = params.get("thumbs", "false").lower() == "true"
        try:
            if "count" in params:
                return self._count(int(params["count"]), thumbs)
            if "start_date" in params:
                start = dt.date.fromisoformat(params["start_date"])
                end = dt.date.fromisoformat(params.get("end_date", self.today.isoformat()))
                return self._range(start, end, thumbs)
            day = dt.date.fromisoformat(params.get("date", self.today.isoformat()))
        except ValueError as exc:
            return _bad_request(f"time data {exc}")
        if not FIRST_DATE <= day <= self.today:
            return _bad_request(f"Date must be between Jun 16, 1995 and {self.today:%b %d, %Y}.")
        record = self.record(day, thumbs=thumbs)
        return Canned(200, record) if record is not None else _no_data(day)

    def _range(self, start: dt.date, end: dt.date, thumbs: bool) -> Canned:
        if not FIRST_DATE <= start <= self.today or not FIRST_DATE <= end <= self.today:
            return _bad_request(f"Date must be between Jun 16, 1995 and {self.today:%b %d, %Y}.")
        if start > end:
            return _bad_request("start_date cannot be after end_date")
        if end == self.today and not self.published_today:
            # The harsher of the behaviours seen: the whole range fails on an unpublished today.
            return _no_data(end)
        days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
        records = [self.record(day, thumbs=thumbs) for day in days]
        return Canned(200, [r for r in records if r is not None])

    def _count(self, count: int, thumbs: bool) -> Canned:
        if not 0 < count <= 100:
            return _bad_request("Count must be positive and cannot exceed 100")
        first = self.today - dt.timedelta(days=400)
        pool = [first + dt.timedelta(days=n) for n in range(401)]
        pool = [day for day in pool if self.record(day, thumbs=thumbs) is not None]
        picked = random.Random(count).sample(pool, count)
        return Canned(200, [self.record(day, thumbs=thumbs) for day in picked])


def _gateway_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message + " Get one at https://api.nasa.gov:443"}}


def _bad_request(msg: str) -> Canned:
    return Canned(400, {"code": 400, "msg": msg, "service_version": "v1"})


def _no_data(day: dt.date) -> Canned:
    return Canned(
        404, {"code": 404, "msg": f"No data available for date: {day}", "service_version": "v1"}
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    errors: list[BaseException]

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        # A client that gave up (timeout, size cap) resets the connection: expected here.
        if exc is not None and not isinstance(exc, ConnectionError):
            self.errors.append(exc)
            super().handle_error(request, client_address)


def _handler_for(fake: FakeApodServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake._lock:
                fake.requests.append(Seen(parts.path, parts.query, params, headers))
            if parts.path == API_PATH:
                canned = fake.answer(params, headers)
                if canned.delay:
                    time.sleep(canned.delay)
                body = b"" if canned.body is None else json.dumps(canned.body).encode()
                self._send(canned.status, body, "application/json", canned.headers)
            elif parts.path.startswith("/images/") and parts.path.endswith(".jpg"):
                name = parts.path[len("/images/") : -len(".jpg")]
                if name in fake.chunked_images:
                    self._send_chunked(fake.image(name))
                else:
                    self._send(200, fake.image(name), "image/jpeg", {})
            elif parts.path.startswith("/redirect/") and parts.path[10:] in fake.redirects:
                self._send(302, b"", "text/plain", {"Location": fake.redirects[parts.path[10:]]})
            else:
                self._send(404, b"not found", "text/plain", {})

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str]) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def _send_chunked(self, body: bytes) -> None:
            """No Content-Length: the size is known only by reading (the streaming cap)."""
            try:
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for offset in range(0, len(body), 8192):
                    chunk = body[offset : offset + 8192]
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler
