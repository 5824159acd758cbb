"""Sending stored bytes to a client: a redirect to a presigned URL when the backend offers one,
the OS's sendfile path for local files, or a stream through the server."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import File, Redirect, Stream
from litestar.status_codes import HTTP_304_NOT_MODIFIED, HTTP_307_TEMPORARY_REDIRECT

from salon.runtime import Runtime

# Objects are content-addressed (keys derive from the sha256), so a URL's bytes never change.
IMMUTABLE = "private, max-age=31536000, immutable"


async def serve_object(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    *,
    key: str,
    content_type: str,
    etag: str,
    filename: str | None = None,
) -> Response[Any]:
    quoted = f'"{etag}"'
    if request.headers.get("if-none-match") in (quoted, f"W/{quoted}"):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers={"etag": quoted})
    storage = runtime.storage
    if runtime.core.download_mode == "redirect" and storage.capabilities.presigned_get:
        url = await storage.presign_get(key, expires_in=runtime.core.presign_ttl, filename=filename)
        return Redirect(
            url,
            status_code=HTTP_307_TEMPORARY_REDIRECT,
            headers={"cache-control": "private, no-store"},
        )
    headers = {"cache-control": IMMUTABLE, "etag": quoted, "x-content-type-options": "nosniff"}
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
