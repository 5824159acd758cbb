"""What the OpenAPI document says beyond what Litestar can infer from handler signatures.

Some handlers read their body themselves (uploads stream multipart to disk), answer with a
redirect or raw bytes, or accept a source-specific query: the pieces here describe those, so
``/schema`` tells a client what to send and what comes back.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Components,
    Encoding,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
    SecurityRequirement,
    SecurityScheme,
)
from litestar.params import Parameter

from salon.domain.deps import ACCESS_COOKIE, CSRF_COOKIE, CSRF_HEADER
from salon.domain.images.schemas import MAX_TITLE
from salon.providers import RenditionSpec

# ---------------------------------------------------------------------------- security

SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "bearer": SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="`Authorization: Bearer <access_token>` from `POST /api/auth/login`.",
    ),
    "cookie": SecurityScheme(
        type="apiKey",
        name=ACCESS_COOKIE,
        security_scheme_in="cookie",
        description=(
            f"The `{ACCESS_COOKIE}` cookie set by `POST /api/auth/login?session=cookie` (the web "
            f"UI). Writes with it must also send the `{CSRF_COOKIE}` cookie's value in the "
            f"`{CSRF_HEADER}` header."
        ),
    ),
}

AUTHENTICATED: list[SecurityRequirement] = [{"bearer": []}, {"cookie": []}]
"""Either scheme signs a request in: the ``security`` of every route that needs a user."""


def mark_authenticated(app: Litestar) -> None:
    """Give every route whose handler takes ``current_user`` (so answers 401 without a
    session) the ``AUTHENTICATED`` security, unless a layer already declares some: routes added
    later, by the core or by plugins, cannot be left undocumented. Runs before the document
    is first generated (on its first request)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            if not _needs_user(handler):
                continue
            if not any(getattr(layer, "security", None) for layer in handler.ownership_layers):
                handler.security = list(AUTHENTICATED)


def _needs_user(handler: HTTPRouteHandler) -> bool:
    """It takes ``current_user``, or a layer has the plugins' ``require_user`` guard."""
    from salon.context import require_user

    if "current_user" in inspect.signature(handler.fn).parameters:
        return True
    guards = (g for layer in handler.ownership_layers for g in (layer.guards or ()))
    return any(guard is require_user for guard in guards)


def components() -> Components:
    return Components(security_schemes=dict(SECURITY_SCHEMES))


# ---------------------------------------------------------------------------- bodies

IMAGE_TYPES = "image/jpeg, image/png, image/webp, image/gif, image/heic, image/avif, image/tiff"
RENDITION_PARAMETER = Parameter(
    description="A rendition's name: one of the renditions this server makes "
    "(`SALON_RENDITIONS` and what stacked media processors add; the enum lists them)."
)
"""The ``name`` of the rendition routes; :func:`document_renditions` adds its enum per app."""


def document_renditions(app: Litestar, renditions: Sequence[RenditionSpec]) -> None:
    """Give every route with a :data:`RENDITION_PARAMETER` the enum of this app's renditions
    (configuration, not a constant) and say what each is. Like :func:`mark_authenticated`,
    it runs before the document is first generated."""
    names = [spec.name for spec in renditions]
    sizes = ", ".join(
        f"`{s.name}` {s.format.lower()} {s.long_edge} px on the long edge" for s in renditions
    )
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler) and _takes_rendition(handler):
                handler.operation_class = _with_rendition_enum(
                    handler.operation_class, names, sizes
                )


def _takes_rendition(handler: HTTPRouteHandler) -> bool:
    name = handler.parsed_fn_signature.parameters.get("name")
    return name is not None and name.kwarg_definition == RENDITION_PARAMETER


def _with_rendition_enum(base: type[Operation], names: list[str], sizes: str) -> type[Operation]:
    @dataclass
    class RenditionOperation(base):  # type: ignore[valid-type, misc]
        def __post_init__(self) -> None:
            if hasattr(base, "__post_init__"):
                base.__post_init__(self)
            for parameter in self.parameters or ():
                if getattr(parameter, "name", None) == "name" and parameter.schema is not None:
                    parameter.schema.enum = list(names)
                    parameter.description = f"A rendition's name: {sizes}."

    return RenditionOperation


def _file(description: str) -> Schema:
    return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description=description)


def multipart_body(
    fields: Mapping[str, Schema], required: Sequence[str] = ("file",)
) -> RequestBody:
    """A ``multipart/form-data`` body with a ``file`` part and text fields."""
    return RequestBody(
        required=True,
        content={
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT, properties=dict(fields), required=list(required)
                ),
                encoding={"file": Encoding(content_type=IMAGE_TYPES)},
            )
        },
    )


IMAGE_UPLOAD_BODY = multipart_body(
    {
        "file": _file(
            "The image. Its bytes decide its type; the declared type is not used (a PNG sent "
            "as image/apng or application/octet-stream is a PNG)."
        ),
        "title": Schema(
            type=OpenAPIType.STRING,
            max_length=MAX_TITLE,
            description="Optional; default: the file name without its extension.",
        ),
        "album_id": Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.UUID,
            description="Optional: one of your albums to add the image to.",
        ),
    }
)

UPLOAD_FILE_BODY = multipart_body(
    {"file": _file("The announced file: exactly the announced size at most.")}
)

SOURCE_QUERY_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    max_properties=10,
    additional_properties=Schema(
        one_of=[
            Schema(type=OpenAPIType.STRING, max_length=100),
            Schema(type=OpenAPIType.INTEGER),
            Schema(type=OpenAPIType.BOOLEAN),
        ]
    ),
    description=(
        "The source's query, the same keys `GET /api/sources/{name}/entries` takes as query "
        "parameters. For `apod`: `date` (YYYY-MM-DD), or `start_date` with an optional "
        "`end_date`, or `count` (1-100); optionally `thumbs` (import a video's thumbnail)."
    ),
    examples=[{"date": "2024-03-01"}, {"start_date": "2024-03-01", "end_date": "2024-03-04"}],
)

SOURCE_IMPORT_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    max_properties=11,
    properties={
        "favorite": Schema(
            type=OpenAPIType.BOOLEAN,
            description=(
                "Also favorite each entry's image, imported now or before (an entry is imported "
                "once per user, by its external id); a trashed one is restored. The APOD page's "
                "star sends this; unfavorite with `DELETE /api/images/{id}/favorite`."
            ),
        ),
        "cursor": Schema(
            type=OpenAPIType.STRING,
            max_length=1000,
            description=(
                "For a source that pages: import the page this cursor names (an "
                "`X-Next-Cursor` of `GET /api/sources/{name}/entries`); without it, the first."
            ),
        ),
    },
    additional_properties=SOURCE_QUERY_SCHEMA.additional_properties,
    description=SOURCE_QUERY_SCHEMA.description,
    examples=[
        {"date": "2024-03-01"},
        {"date": "2024-03-01", "favorite": True},
        {"start_date": "2024-03-01", "end_date": "2024-03-04"},
    ],
)

SOURCE_IMPORT_BODY = RequestBody(
    required=True, content={"application/json": OpenAPIMediaType(schema=SOURCE_IMPORT_SCHEMA)}
)

# ---------------------------------------------------------------------------- responses

REDIRECT_307 = OpenAPIResponse(
    description=(
        "Temporary Redirect to a short-lived URL of the bytes: a presigned storage URL (S3) or "
        "a signed `/media/` URL on this server. Follow it without the Authorization header. "
        "Answered when `SALON_DOWNLOAD_MODE=redirect` (the default) and storage allows it."
    ),
    headers={
        "Location": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING), description="Where the bytes are."
        ),
        "Cache-Control": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING)),
    },
)


def bytes_response(media_type: str, description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={media_type: OpenAPIMediaType(schema=_file(description))},
        headers={
            "ETag": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING)),
            "Content-Disposition": OpenAPIHeader(
                schema=Schema(type=OpenAPIType.STRING),
                description="The original file name (RFC 6266), on originals.",
            ),
        },
    )


def _refusal(description: str, reasons: Sequence[str] = ()) -> OpenAPIResponse:
    properties: dict[str, Reference | Schema] = {
        "status_code": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING, description="What is wrong, for a person."),
    }
    if reasons:
        properties["reason"] = Schema(
            type=OpenAPIType.STRING,
            enum=list(reasons),
            description="Which kind of refusal, for a program.",
        )
    return OpenAPIResponse(
        description=description,
        content={
            "application/json": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["status_code", "detail"],
                    properties=properties,
                )
            )
        },
    )


MEDIA_REFUSALS = {
    "413": _refusal(
        "Too large: the file has more bytes than `SALON_MAX_UPLOAD_BYTES`, or the image more "
        "pixels than `SALON_MAX_PIXELS` (or a side over 65535, or far more pixels than its "
        "bytes could hold: a decompression bomb). Nothing is kept.",
        ["too_large"],
    ),
    "415": _refusal(
        "Not an image Salon reads, judged from the bytes whatever type was declared: "
        "`not_an_image`, `unsupported_format` (BMP, SVG, PSD...), `unsupported_variant` "
        "(a 12-bit JPEG, an image over 100 times longer than wide), `damaged` (truncated or "
        "corrupt) or `empty`. Nothing is kept.",
        ["not_an_image", "unsupported_format", "unsupported_variant", "damaged", "empty"],
    ),
}
"""The refusals of every route that turns bytes into an image."""


NOT_MODIFIED_304 = OpenAPIResponse(description="Not Modified: the If-None-Match ETag matches.")

IMAGE_BYTES = {
    "200": bytes_response("image/*", "The bytes (`SALON_DOWNLOAD_MODE=proxy`)."),
    "304": NOT_MODIFIED_304,
    "307": REDIRECT_307,
}


VIDEO_BYTES = {
    "200": bytes_response("video/mp4", "The MP4 (Range requests give 206)."),
    "206": bytes_response("video/mp4", "Partial Content: the requested byte range."),
    "304": NOT_MODIFIED_304,
    "416": _refusal(
        "Range Not Satisfiable: the range starts past the end; `Content-Range: bytes */size` "
        "gives the size."
    ),
}


def documented(
    *,
    body: RequestBody | None = None,
    responses: Mapping[str, OpenAPIResponse] | None = None,
) -> type[Operation]:
    """An ``operation_class`` for a route: Litestar's inferred operation, with ``body`` as its
    request body and ``responses`` added (replacing inferred ones with the same status)."""

    @dataclass
    class DocumentedOperation(Operation):
        def __post_init__(self) -> None:
            if body is not None:
                self.request_body = body
            if responses:
                self.responses = {**(self.responses or {}), **responses}

    return DocumentedOperation


__all__ = [
    "AUTHENTICATED",
    "IMAGE_BYTES",
    "IMAGE_UPLOAD_BODY",
    "MEDIA_REFUSALS",
    "RENDITION_PARAMETER",
    "SOURCE_IMPORT_BODY",
    "SOURCE_IMPORT_SCHEMA",
    "SOURCE_QUERY_SCHEMA",
    "UPLOAD_FILE_BODY",
    "VIDEO_BYTES",
    "components",
    "document_renditions",
    "documented",
    "mark_authenticated",
]
