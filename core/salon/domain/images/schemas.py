"""The image as clients see it, and the bodies of the image routes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Final

import msgspec

from salon.db.models import Image

# What a title and a description keep (longer ones are refused where a person typed them).
MAX_TITLE: Final = 500
MAX_DESCRIPTION: Final = 5000

PLACEHOLDER_DOC = (
    "A blurred preview to show while a rendition loads: a ThumbHash "
    "(https://evanw.github.io/thumbhash/) of the upright image, base64-encoded (standard "
    "alphabet with padding, at most 200 characters; about 25 bytes decoded). Decode it with any "
    "ThumbHash library (thumbHashToDataURL in JavaScript) into an image of about 32 px on the "
    "long edge and stretch it over the picture's box. null until the renditions are made, or "
    "when the media processor makes none."
)
Placeholder = Annotated[str, msgspec.Meta(description=PLACEHOLDER_DOC, max_length=200)] | None


class ImageUrls(msgspec.Struct):
    original: str
    renditions: Annotated[
        dict[str, str],
        msgspec.Meta(
            description="One URL per rendition made: the names of SALON_RENDITIONS (sm, md "
            "and lg at least) and of stacked media processors' renditions (the rendition "
            "routes' name enum). Empty while the image is processing."
        ),
    ]


class ImageOut(msgspec.Struct):
    id: str
    title: str
    content_type: str
    size: int
    width: int
    height: int
    sha256: str
    taken_at: dt.datetime | None
    created_at: dt.datetime
    favorite: bool
    placeholder: Placeholder
    urls: ImageUrls
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    # "processing" until the renditions exist (``urls.renditions`` is empty until then; the
    # width and height are already the displayed ones), then "ready"; "failed" with ``error``
    # when the full decode refused the bytes.
    status: str = "ready"
    error: str | None = None
    # When the image was moved to the trash (None: not in the trash).
    trashed_at: dt.datetime | None = None
    rendition_widths: Annotated[
        dict[str, int],
        msgspec.Meta(
            description="Each rendition's width in pixels, by name (for `srcset`): the sizes "
            "follow SALON_RENDITIONS, so a client need not assume them."
        ),
    ] = msgspec.field(default_factory=dict)


class UploadedImageOut(ImageOut):
    """An upload's answer: the image, and whether these bytes were already in the library."""

    duplicate: Annotated[
        bool,
        msgspec.Meta(
            description="true when you had uploaded these bytes before: nothing new was "
            "stored and this is the existing image (the answer is then 200, not 201)."
        ),
    ] = False


def uploaded_out(image: Image, created: bool) -> UploadedImageOut:
    return UploadedImageOut(**msgspec.structs.asdict(image_out(image)), duplicate=not created)


class ImagePage(msgspec.Struct):
    items: list[ImageOut]
    next_cursor: str | None


class ImagePatch(msgspec.Struct, forbid_unknown_fields=True):
    # A longer value is refused with 400 rather than cut without a word (outside attacker,
    # s29).
    title: Annotated[str, msgspec.Meta(max_length=MAX_TITLE)] | None = msgspec.field(default=None)
    # A corrected capture time (a camera's clock was wrong, a scan has none): with an offset
    # a moment; without one a wall-clock time, kept as written and marked
    # ``metadata.taken_at_zone = "local"``. The camera's own time stays in
    # ``metadata.camera_taken_at``.
    taken_at: dt.datetime | None = None
    favorite: bool | None = None
    # Kept as ``metadata.description`` (searchable); "" removes it.
    description: Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)] | None = None


BULK_ACTIONS = (
    "trash",
    "restore",
    "delete",
    "favorite",
    "unfavorite",
    "set_taken_at",
    "shift_taken_at",
)


class BulkAction(msgspec.Struct, forbid_unknown_fields=True):
    """One action on many of the caller's images (the grid's selection)."""

    action: str
    image_ids: list[str]
    # ``set_taken_at``: the capture time every image gets.
    taken_at: dt.datetime | None = None
    # ``shift_taken_at``: seconds added to each capture time (negative: earlier), e.g. a
    # camera left on another time zone; an image without one shifts from its upload time.
    shift_seconds: int | None = None


class BulkResult(msgspec.Struct):
    action: str
    count: int


def image_out(image: Image, base: str = "/api/images") -> ImageOut:
    prefix = f"{base}/{image.id}"
    renditions = {name: f"{prefix}/renditions/{name}" for name in sorted(image.renditions or {})}
    return ImageOut(
        id=str(image.id),
        title=image.title,
        content_type=image.content_type,
        size=image.size,
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        taken_at=image.taken_at,
        created_at=image.created_at,
        favorite=image.favorite,
        placeholder=image.placeholder,
        urls=ImageUrls(original=f"{prefix}/original", renditions=renditions),
        metadata=dict(image.meta or {}),
        status=image.status or "ready",
        error=image.error,
        trashed_at=image.trashed_at,
        rendition_widths={
            name: int(entry.get("width", 0)) for name, entry in (image.renditions or {}).items()
        },
    )


class _Rendition(msgspec.Struct):
    width: int | float = 0


stored_renditions = msgspec.json.Decoder(dict[str, _Rendition] | None)
_EMPTY = msgspec.Raw(b"{}")


def page_item(row: Any, base: str = "/api/images") -> ImageOut:
    """:func:`image_out` of a page row (``services.PAGE_COLUMNS``), whose ``renditions`` and
    ``meta`` are JSON text: ``meta`` is passed through to the encoder as it is stored, and of
    ``renditions`` only the names and widths are decoded (issue 19.2). The page's JSON is
    the same as :func:`image_out`'s."""
    ident = str(row.id)
    prefix = f"{base}/{ident}"
    stored = stored_renditions.decode(row.renditions) if row.renditions else None
    names = sorted(stored or ())
    return ImageOut(
        id=ident,
        title=row.title,
        content_type=row.content_type,
        size=row.size,
        width=row.width,
        height=row.height,
        sha256=row.sha256,
        taken_at=row.taken_at,
        created_at=row.created_at,
        favorite=row.favorite,
        placeholder=row.placeholder,
        urls=ImageUrls(
            original=f"{prefix}/original",
            renditions={name: f"{prefix}/renditions/{name}" for name in names},
        ),
        metadata=raw_meta(row.meta),
        status=row.status or "ready",
        error=row.error,
        trashed_at=row.trashed_at,
        rendition_widths={name: int(entry.width) for name, entry in (stored or {}).items()},
    )


def raw_meta(text: str | None) -> Any:
    # Python's json writes NaN and Infinity (not JSON) where SQLite's column has them: such
    # metadata is decoded and encoded again, as image_out does (msgspec writes null).
    if not text or text == "null":
        return _EMPTY
    if "NaN" in text or "Infinity" in text:
        return json.loads(text)
    return msgspec.Raw(text.encode())


def image_event(image: Image) -> dict[str, Any]:
    """The JSON an image event (``image_stored`` ...) carries: the API's image and its owner."""
    event: dict[str, Any] = msgspec.to_builtins(image_out(image))
    return {**event, "owner_id": str(image.owner_id)}


# The timeline's months (salon.domain.images.timeline).


class MonthOut(msgspec.Struct):
    month: str  # "YYYY-MM" (UTC)
    count: int
    # Pass as ``cursor`` with ``order=taken`` (and the same filters): the page starts with
    # this month's newest photo.
    cursor: str


class MonthsOut(msgspec.Struct):
    months: list[MonthOut]
    total: int
