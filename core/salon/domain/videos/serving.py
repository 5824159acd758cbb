"""Streaming a stored MP4 with HTTP Range support: players seek by asking for byte ranges, and
Safari will not play a video from a server that ignores them.

One ``bytes=start-end`` range (also ``start-`` and ``-suffix``) answers 206 with
``Content-Range``; several ranges, or a stale ``If-Range``, answer the whole file (200), which
RFC 9110 allows; an unsatisfiable range answers 416. Local files are read from the offset;
other backends are streamed from the start with the leading bytes skipped (they normally give
presigned URLs instead, so this path is a fallback).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from litestar import Request, Response
from litestar.response import Stream
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_206_PARTIAL_CONTENT,
    HTTP_304_NOT_MODIFIED,
    HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE,
)

from salon.errors import ObjectNotFound
from salon.providers import StorageBackend

__all__ = ["ByteRange", "parse_range", "serve_range"]

CHUNK = 1 << 18
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive, as HTTP counts them."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(ValueError):
    """The range lies outside the object."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range asked for, ``None`` for the whole object; raises :class:`Unsatisfiable`."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges or another unit: answer the whole object
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise Unsatisfiable(header)
    return ByteRange(start, end)


async def serve_range(
    request: Request[Any, Any, Any],
    storage: StorageBackend,
    *,
    key: str,
    content_type: str,
    etag: str,
    filename: str,
) -> Response[Any]:
    """Answer GET for ``key`` honouring ``Range``, ``If-Range`` and ``If-None-Match``."""
    quoted = f'"{etag}"'
    headers = {
        "accept-ranges": "bytes",
        "etag": quoted,
        "cache-control": "private, max-age=3600",
        "content-disposition": f'inline; filename="{filename}"',
    }
    if request.headers.get("if-none-match") in (quoted, f"W/{quoted}"):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    size = (await storage.stat(key)).size
    if_range = request.headers.get("if-range")
    wanted = request.headers.get("range") if if_range in (None, quoted) else None
    try:
        byte_range = parse_range(wanted, size)
    except Unsatisfiable:
        return _unsatisfiable(str(wanted), size)
    if byte_range is None:
        byte_range, status = ByteRange(0, size - 1), HTTP_200_OK
    else:
        status = HTTP_206_PARTIAL_CONTENT
        headers["content-range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    headers["content-length"] = str(max(byte_range.length, 0))
    return Stream(
        _read(storage, key, byte_range) if size else _empty(),
        status_code=status,
        media_type=content_type,
        headers=headers,
    )


def _unsatisfiable(wanted: str, size: int) -> Response[Any]:
    """416 with the size (``Content-Range: bytes */size``, RFC 9110) and, as every refusal,
    a message (the body was empty; outside attacker, s29)."""
    status = HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE
    detail = (
        f"the range {wanted[:60]!r} is not within the video's {size} bytes:"
        f" ask for bytes 0 to {size - 1}"
        if size
        else f"the range {wanted[:60]!r} asks for bytes of an empty video"
    )
    return Response(
        {"status_code": status, "detail": detail},
        status_code=status,
        headers={"accept-ranges": "bytes", "content-range": f"bytes */{size}"},
    )


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def _read(storage: StorageBackend, key: str, wanted: ByteRange) -> AsyncIterator[bytes]:
    path = storage.local_path(key) if storage.capabilities.local_paths else None
    if path is not None:
        async for chunk in _read_file(path, wanted):
            yield chunk
        return
    position = 0
    async for chunk in storage.open(key, chunk_size=CHUNK):
        chunk_end = position + len(chunk)
        if chunk_end > wanted.start:
            yield chunk[max(0, wanted.start - position) : wanted.end + 1 - position]
        position = chunk_end
        if position > wanted.end:
            break


async def _read_file(path: Any, wanted: ByteRange) -> AsyncIterator[bytes]:
    try:
        handle = await anyio.open_file(path, "rb")
    except FileNotFoundError:
        raise ObjectNotFound(str(path)) from None
    async with handle:
        await handle.seek(wanted.start)
        remaining = wanted.length
        while remaining > 0:
            chunk = await handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
