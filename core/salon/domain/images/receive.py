"""Streaming multipart reception: the file part goes to a temporary file as it arrives, hashed
on the way, and the upload is refused with 413 the moment it passes the size limit. Litestar's
own form parsing would hold the whole body in memory first.

Everything else a client controls is bounded too: the number of parts, each field's and each
part's headers' length, the bytes around the file; the pace is the request's (see
``salon.domain.bodies``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MAX_BOUNDARY_LENGTH, MultipartParser, parse_options_header

from salon.domain.images.intake import spool_hashed

MAX_FIELD_BYTES = 16 * 1024
MAX_HEADER_BYTES = 16 * 1024
# Boundaries, part headers and the small fields around the file.
FORM_OVERHEAD_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """What one multipart upload may cost: ``max_bytes`` of file and ``max_parts`` parts. The
    pace of the body is enforced by the request itself (``salon.domain.bodies.SalonRequest``)."""

    max_bytes: int
    max_parts: int = 16

    @classmethod
    def of(cls, core: Any, max_bytes: int) -> BodyLimits:
        return cls(max_bytes, core.max_form_parts)


class PayloadTooLarge(ClientException):
    status_code = HTTP_413_REQUEST_ENTITY_TOO_LARGE


@dataclass(slots=True)
class ReceivedFile:
    path: Path
    size: int
    sha256: str
    filename: str
    content_type: str


@dataclass(slots=True)
class ReceivedForm:
    file: ReceivedFile | None = None
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        if self.file is not None:
            self.file.path.unlink(missing_ok=True)


@dataclass(slots=True)
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    filename: str | None = None
    content_type: str = "application/octet-stream"
    buffer: bytearray = field(default_factory=bytearray)


class _FormState:
    """Parser callbacks are synchronous; they only collect bytes. The async loop writes them."""

    def __init__(self, max_bytes: int, max_parts: int) -> None:
        self.max_bytes = max_bytes
        self.max_parts = max_parts
        self.parts = 0
        self.header_bytes = 0
        self.part = _Part()
        self.header_field = b""
        self.header_value = b""
        self.fields: dict[str, str] = {}
        self.file_parts = 0
        self.pending = bytearray()
        self.file_size = 0
        self.file_meta: tuple[str, str] | None = None
        self.finished_file = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.part = _Part()
        self.header_bytes = 0
        self.parts += 1
        if self.parts > self.max_parts:
            raise ClientException(f"more than {self.max_parts} parts in the form")

    def _count_header(self, size: int) -> None:
        self.header_bytes += size
        if self.header_bytes > MAX_HEADER_BYTES:
            raise ClientException("the headers of a form part are too long")

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self.header_field.decode("latin-1").lower()
        self.part.headers[name] = self.header_value.decode("utf-8", "replace")
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        # As UTF-8 bytes: the parser round-trips bytes through latin-1, but would fail to
        # encode a str holding characters beyond latin-1 (a filename such as "写真.jpg").
        raw = self.part.headers.get("content-disposition", "").encode("utf-8")
        disposition, options = parse_options_header(raw)
        if disposition != b"form-data":
            raise ClientException("multipart part without form-data disposition")
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        if raw_filename is not None:
            self.part.filename = raw_filename.decode("utf-8", "replace")
            self.part.content_type = self.part.headers.get("content-type", "").strip() or (
                "application/octet-stream"
            )
            if self.part.name != "file":
                raise ClientException(f"unexpected file field {self.part.name!r}; send 'file'")
            self.file_parts += 1
            if self.file_parts > 1:
                raise ClientException("send exactly one file per request")
            self.file_meta = (self.part.filename, self.part.content_type)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.filename is not None:
            self.file_size += end - start
            if self.file_size > self.max_bytes:
                raise PayloadTooLarge(f"file is larger than the limit of {self.max_bytes} bytes")
            self.pending += data[start:end]
        else:
            self.part.buffer += data[start:end]
            if len(self.part.buffer) > MAX_FIELD_BYTES:
                raise ClientException(f"form field {self.part.name!r} is too long")

    def on_part_end(self) -> None:
        if self.part.filename is None:
            self.fields[self.part.name] = self.part.buffer.decode("utf-8", "replace")


def _boundary(request: Request[Any, Any, Any]) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise ClientException("send the image as multipart/form-data with a 'file' part")
    boundary = options[b"boundary"]
    # The parser refuses a longer one with an error of its own (a 500 before; outside
    # attacker, s29); RFC 2046 allows 70 characters.
    if not 0 < len(boundary) <= MAX_BOUNDARY_LENGTH:
        raise ClientException(
            f"the multipart boundary is {len(boundary)} characters long; it must be 1 to"
            f" {MAX_BOUNDARY_LENGTH} (RFC 2046 says at most 70)"
        )
    return boundary


def _check_head(request: Request[Any, Any, Any], limits: BodyLimits) -> bytes:
    """The form's boundary, once the headers are known to be acceptable (before any byte of
    the body is read or stored)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes + FORM_OVERHEAD_BYTES:
        raise PayloadTooLarge(f"upload is larger than the limit of {limits.max_bytes} bytes")
    return _boundary(request)


async def _file_data(
    request: Request[Any, Any, Any], limits: BodyLimits, state: _FormState, boundary: bytes
) -> AsyncIterator[bytes]:
    """The file part's bytes as the body arrives; the other fields collect in ``state``."""
    max_body = limits.max_bytes + FORM_OVERHEAD_BYTES
    too_large = f"upload is larger than the limit of {limits.max_bytes} bytes"
    parser = MultipartParser(boundary, state.callbacks())  # type: ignore[arg-type]
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > max_body:
                raise PayloadTooLarge(too_large)
            parser.write(chunk)
            if state.pending:
                data, state.pending = bytes(state.pending), bytearray()
                yield data
        parser.finalize()
    except MultipartParseError as exc:
        raise ClientException(f"malformed multipart body: {exc}") from None


async def receive_multipart(
    request: Request[Any, Any, Any], tmp_dir: Path, limits: BodyLimits
) -> ReceivedForm:
    """Read the request body once, streaming, into a file in ``tmp_dir`` (made by the caller:
    ``intake.tmp_dir``); the caller must ``discard()`` the result."""
    boundary = _check_head(request, limits)
    state = _FormState(limits.max_bytes, limits.max_parts)
    # The limit is the parser's (413 with the message above); this one is never reached.
    too_large = PayloadTooLarge(f"file is larger than the limit of {limits.max_bytes} bytes")
    chunks = _file_data(request, limits, state, boundary)
    path, size, sha256 = await spool_hashed(chunks, tmp_dir, limits.max_bytes, too_large)
    form = ReceivedForm(fields=state.fields)
    if state.file_meta is None:
        path.unlink(missing_ok=True)
        return form
    filename, content_type = state.file_meta
    form.file = ReceivedFile(path, size, sha256, filename, content_type)
    return form


async def stream_multipart_file(
    request: Request[Any, Any, Any], limits: BodyLimits
) -> AsyncIterator[bytes]:
    """The bytes of the form's ``file`` part as the body arrives, for a consumer that stores
    them as they come (a direct upload to local storage: no temporary file). Raises, at the
    end, when the form has no file part: a storage ``put`` then keeps nothing."""
    boundary = _check_head(request, limits)
    state = _FormState(limits.max_bytes, limits.max_parts)
    async for data in _file_data(request, limits, state, boundary):
        yield data
    if state.file_meta is None:
        raise ClientException("the form has no 'file' part")
