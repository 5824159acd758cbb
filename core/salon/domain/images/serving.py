"""Sending stored bytes to a client.

Three ways, chosen per storage backend and ``download_mode``:

- **redirect, S3-like storage**: a 307 to a presigned URL; the bytes never pass through Salon.
- **redirect, local storage**: a 307 to a *signed media URL*,
  ``/media/<key>?x=<expires>&e=<etag>&t=<type>[&f=<filename>]&s=<hmac>&m=<md5>``, that the API
  checked access for. :func:`mount_media` answers those URLs in front of Litestar's router (no
  routing, middleware, dependency injection or database): it checks the HMAC and the expiry, then
  hands the file to the server with the ASGI ``http.response.pathsend`` extension, so granian
  sends it from Rust much as nginx's sendfile would. Without that extension (test clients, other
  servers) the file is streamed in chunks. Keys are content-addressed, so a URL's bytes never
  change: ``Cache-Control: immutable``, an ETag and Last-Modified, 304 on revalidation.
  Expiries are rounded up to a multiple of ``presign_ttl``, so one image keeps the same URL
  (and stays in browser caches) for a while, and a leaked URL stops working after at most two
  ``presign_ttl``.
  ``m`` is for nginx in front of Salon (deploy/nginx, ``salon nginx-config``): nginx's
  ``secure_link`` module checks it and serves ``/media/renditions/`` itself with sendfile; Salon
  ignores it and checks ``s``.
- **proxy**: the bytes through Litestar (``File`` for local paths, a stream otherwise).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import anyio
from litestar import Litestar, Request, Response
from litestar.handlers import HTTPRouteHandler
from litestar.response import File, Redirect, Stream
from litestar.response.base import ASGIResponse
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_304_NOT_MODIFIED,
    HTTP_307_TEMPORARY_REDIRECT,
)

from salon.providers import StorageBackend
from salon.runtime import Runtime

# Objects are content-addressed (keys derive from the sha256), so a URL's bytes never change.
IMMUTABLE = "private, max-age=31536000, immutable"
MEDIA_PREFIX = "/media/"
PATHSEND = "http.response.pathsend"
_CHUNK = 1 << 16
_GRANT_CACHE = 4096

ASGIScope = dict[str, Any]
ASGIReceive = Callable[[], Awaitable[dict[str, Any]]]
ASGISend = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[ASGIScope, ASGIReceive, ASGISend], Awaitable[None]]


# Characters a quoted-string ``filename="..."`` cannot carry safely (RFC 6266 fallback).
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9 !#$&+,.;=@^_`{}~()\[\]-]")


def content_disposition(filename: str, kind: str = "inline") -> str:
    """RFC 6266: an ASCII ``filename`` fallback for old clients and the exact name, percent
    encoded as UTF-8 (RFC 5987), in ``filename*``, which current browsers prefer."""
    fallback = _FILENAME_UNSAFE.sub("_", filename).strip() or "download"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@dataclass(frozen=True, slots=True)
class MediaGrant:
    """What a verified media URL allows: one key, served with this type, ETag and name."""

    key: str
    content_type: str
    etag: str
    filename: str
    expires: int = 0


class MediaSigner:
    """Makes and checks signed media URLs (HMAC-SHA256 with a key derived from the secret).

    Each URL also carries ``m``, the token of nginx's ``secure_link`` module: base64url (no
    padding) of ``md5("{expires}{uri} {nginx_key}")``, ``uri`` being the path nginx sees as
    ``$uri``. ``nginx_key`` is derived from the secret too, so the nginx config never holds the
    secret itself. MD5 is what nginx offers; it only guards the expiry and the path, and the key
    is 128 random-looking bits nobody can reverse to the secret.
    """

    def __init__(self, secret: str, ttl: int) -> None:
        self._key = hmac.new(secret.encode(), b"salon media url v1", hashlib.sha256).digest()
        nginx = hmac.new(secret.encode(), b"salon media nginx v1", hashlib.sha256).digest()
        self._nginx_key = nginx[:16].hex()
        self.ttl = max(1, ttl)

    def nginx_key(self) -> str:
        """The key for ``secure_link_md5`` in the nginx config (not the secret: derived from it)."""
        return self._nginx_key

    def nginx_token(self, key: str, expires: int | str) -> str:
        """The ``m`` parameter: what nginx's ``secure_link`` computes for ``/media/<key>``."""
        message = f"{expires}{MEDIA_PREFIX}{key} {self._nginx_key}".encode()
        digest = hashlib.md5(message, usedforsecurity=False).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def _sign(self, expires: str, etag: str, content_type: str, filename: str, key: str) -> str:
        message = "\n".join((expires, etag, content_type, filename, key)).encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(digest).decode()

    def expires(self, now: float | None = None) -> int:
        """At least ``ttl`` seconds away, rounded so URLs stay stable for a while."""
        now = time.time() if now is None else now
        return (int(now) // self.ttl + 2) * self.ttl

    def url(
        self,
        key: str,
        *,
        content_type: str,
        etag: str,
        filename: str | None = None,
        now: float | None = None,
    ) -> str:
        expires = str(self.expires(now))
        name = filename or ""
        query = {"x": expires, "e": etag, "t": content_type}
        if name:
            query["f"] = name
        query["s"] = self._sign(expires, etag, content_type, name, key)
        query["m"] = self.nginx_token(key, expires)
        return f"{MEDIA_PREFIX}{quote(key)}?{urlencode(query)}"

    def verify(self, key: str, query: Mapping[str, str], now: float | None = None) -> MediaGrant:
        """The grant of a URL, or :class:`MediaDenied` (bad signature, expired)."""
        expires = query.get("x", "")
        etag, content_type = query.get("e", ""), query.get("t", "")
        filename = query.get("f", "")
        expected = self._sign(expires, etag, content_type, filename, key)
        if not hmac.compare_digest(expected, query.get("s", "")):
            raise MediaDenied("invalid media link")
        if not expires.isdigit() or int(expires) < (time.time() if now is None else now):
            raise MediaDenied("the media link has expired")
        return MediaGrant(key, content_type, etag, filename, int(expires))


class MediaDenied(Exception):
    """A media URL whose signature does not match, or that has expired (403)."""


def media_signer(runtime: Runtime) -> MediaSigner:
    """The runtime's signer, made once by the composition root (salon.composition)."""
    return runtime.services.signer


# --------------------------------------------------------------------------- the API side


class HeadOnly(Response[Any]):
    """``inner``'s answer without its body, for HEAD: its status and headers, length included
    (Litestar's GET-and-HEAD routes would send the body otherwise)."""

    def __init__(self, inner: Response[Any]) -> None:
        super().__init__(None)
        self.inner = inner

    def to_asgi_response(
        self, app: Litestar | None, request: Request[Any, Any, Any], **kwargs: Any
    ) -> ASGIResponse:
        kwargs["is_head_response"] = True
        answer = self.inner.to_asgi_response(app, request, **kwargs)
        # Litestar leaves the type out of bodiless answers; HEAD's says what GET would send.
        if answer.status_code == HTTP_200_OK and self.inner.media_type:
            answer.headers.setdefault("content-type", str(self.inner.media_type))
        return answer


def get_and_head(operation_id: str) -> Callable[[HTTPRouteHandler, str, object], str]:
    """Operation ids for a route answering GET and HEAD (OpenAPI wants one per operation):
    ``operation_id`` for GET, ``operation_id`` + ``_head`` for HEAD."""

    def creator(_handler: HTTPRouteHandler, method: str, _path: object) -> str:
        return operation_id if method == "GET" else f"{operation_id}_head"

    return creator


async def serve_object(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    *,
    key: str,
    content_type: str,
    etag: str,
    filename: str | None = None,
    direct: bool = False,
    cache_control: str = IMMUTABLE,
) -> Response[Any]:
    """The response for one stored object the caller may read (access already checked); to
    a HEAD request, the same without the body.

    ``direct`` sends the bytes from here even in redirect mode: for access that can end
    before a presigned or signed media URL would (share links)."""
    response = await _object_response(
        request,
        runtime,
        key=key,
        content_type=content_type,
        etag=etag,
        filename=filename,
        direct=direct,
        cache_control=cache_control,
    )
    return HeadOnly(response) if request.method == "HEAD" else response


async def _object_response(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    *,
    key: str,
    content_type: str,
    etag: str,
    filename: str | None,
    direct: bool,
    cache_control: str,
) -> Response[Any]:
    quoted = f'"{etag}"'
    if request.headers.get("if-none-match") in (quoted, f"W/{quoted}"):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers={"etag": quoted})
    storage = runtime.storage
    redirect = runtime.core.download_mode == "redirect" and not direct
    if redirect and storage.capabilities.presigned_get:
        url = await storage.presign_get(key, expires_in=runtime.core.presign_ttl, filename=filename)
        return Redirect(
            url,
            status_code=HTTP_307_TEMPORARY_REDIRECT,
            headers={"cache-control": "private, no-store"},
        )
    if redirect and storage.capabilities.local_paths and runtime.services.media_mounted:
        signer = media_signer(runtime)
        url = signer.url(key, content_type=content_type, etag=etag, filename=filename)
        # The URL is valid for at least ``ttl`` more seconds: browsers may reuse the redirect.
        return Redirect(
            url,
            status_code=HTTP_307_TEMPORARY_REDIRECT,
            headers={"cache-control": f"private, max-age={signer.ttl}"},
        )
    headers = {"cache-control": cache_control, "etag": quoted, "x-content-type-options": "nosniff"}
    if filename:
        headers["content-disposition"] = content_disposition(filename)
    path = storage.local_path(key) if storage.capabilities.local_paths else None
    if path is not None:
        if not path.exists():
            from salon.errors import ObjectNotFound

            raise ObjectNotFound(key)
        return File(
            path,
            media_type=content_type,
            headers=headers,
            etag=None,
            content_disposition_type="inline",
            filename=filename or path.name,
        )
    info = await storage.stat(key)
    headers["content-length"] = str(info.size)
    return Stream(storage.open(key), media_type=content_type, headers=headers)


# --------------------------------------------------------------------------- the media side


_STATIC_HEADERS = [
    (b"cache-control", IMMUTABLE.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; sandbox"),
]


def _error_body(status: int, detail: str) -> bytes:
    return f'{{"status_code":{status},"detail":"{detail}"}}'.encode()


async def _send_error(send: ASGISend, status: int, detail: str) -> None:
    body = _error_body(status, detail)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _not_modified(headers: Mapping[bytes, bytes], etag: bytes, mtime: int) -> bool:
    inm = headers.get(b"if-none-match")
    if inm is not None:
        return any(tag.strip() in (etag, b"W/" + etag, b"*") for tag in inm.split(b","))
    ims = headers.get(b"if-modified-since")
    if ims is None:
        return False
    try:
        return mtime <= int(parsedate_to_datetime(ims.decode("latin-1")).timestamp())
    except (TypeError, ValueError):
        return False


class MediaFiles:
    """The ASGI app behind ``/media/``: signed, immutable, content-addressed local files."""

    def __init__(self, storage: StorageBackend, signer: MediaSigner) -> None:
        self.storage = storage
        self.signer = signer
        # A gallery page asks for the same few hundred URLs again and again: remember verified
        # ones (the expiry is still checked on every request) and skip parsing and the HMAC.
        self._granted: dict[tuple[str, bytes], tuple[MediaGrant, Path | None]] = {}

    def _grant(self, path: str, query_string: bytes) -> tuple[MediaGrant, Path | None]:
        cached = self._granted.get((path, query_string))
        if cached is not None:
            if cached[0].expires < time.time():
                del self._granted[(path, query_string)]
                raise MediaDenied("the media link has expired")
            return cached
        key = path[len(MEDIA_PREFIX) :]
        query = dict(parse_qsl(query_string.decode("latin-1")))
        grant = self.signer.verify(key, query)
        if len(self._granted) >= _GRANT_CACHE:
            self._granted.clear()  # crude but bounded; refilled by the next requests
        self._granted[(path, query_string)] = result = (grant, self._path(key))
        return result

    def _path(self, key: str) -> Path | None:
        try:
            return self.storage.local_path(key)
        except ValueError:  # not a well-formed key: nothing could be there
            return None

    async def __call__(self, scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _send_error(send, 405, "method not allowed")
            return
        try:
            grant, path = self._grant(scope["path"], scope.get("query_string", b""))
        except MediaDenied as exc:
            await _send_error(send, 403, str(exc))
            return
        try:
            if path is None:
                raise FileNotFoundError(grant.key)
            st = os.stat(path)  # one syscall on a local disk: cheaper than a thread hop
        except OSError:
            await _send_error(send, 404, "not found")
            return
        etag = f'"{grant.etag}"'.encode()
        mtime = int(st.st_mtime)
        headers = [
            *_STATIC_HEADERS,
            (b"etag", etag),
            (b"last-modified", formatdate(mtime, usegmt=True).encode()),
        ]
        request_headers = dict(scope["headers"])
        if _not_modified(request_headers, etag, mtime):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-type", grant.content_type.encode("latin-1")))
        headers.append((b"content-length", str(st.st_size).encode()))
        if grant.filename:
            disposition = content_disposition(grant.filename)
            headers.append((b"content-disposition", disposition.encode("ascii")))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        if method == "HEAD":
            await send({"type": "http.response.body", "body": b""})
        elif PATHSEND in scope.get("extensions", {}):
            await send({"type": PATHSEND, "path": os.fspath(path)})
        else:
            await _stream(path, send)


async def _stream(path: Path, send: ASGISend) -> None:
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(_CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def mount_media(app: Litestar, runtime: Runtime) -> None:
    """Answer ``/media/...`` ahead of Litestar's router, when the storage has local files.

    Wrapping ``app.asgi_handler`` (rather than adding a route) skips routing, middleware and
    dependency resolution: measured, a Litestar mount with the same body served about a third
    of the requests per second (see benchmarks/serving)."""
    if not runtime.storage.capabilities.local_paths:
        return
    media = MediaFiles(runtime.storage, media_signer(runtime))
    inner: ASGIApp = app.asgi_handler  # type: ignore[assignment]

    async def handler(scope: ASGIScope, receive: ASGIReceive, send: ASGISend) -> None:
        if scope["type"] == "http" and scope["path"].startswith(MEDIA_PREFIX):
            await media(scope, receive, send)
            return
        await inner(scope, receive, send)

    app.asgi_handler = handler  # type: ignore[assignment]
    runtime.services.media_mounted = True
