"""What share links take and answer: photo links (``/s/{token}``), album links
(``/s/album/{token}``) and the owner's list of links."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from salon.db.models import Image
from salon.domain.images.schemas import ImageUrls, Placeholder

Shown = Literal["title", "taken_at", "file"]


# As for account passwords (salon.defaults.local_auth.MIN_PASSWORD_LENGTH).
LINK_PASSWORD_MIN = 8
NewLinkPassword = Annotated[str, msgspec.Meta(min_length=LINK_PASSWORD_MIN, max_length=200)]


class ShareIn(msgspec.Struct, forbid_unknown_fields=True):
    """``show``: what the link reveals besides the picture (none by default); ``expires_in``:
    seconds (default ``SALON_SHARE_LINK_TTL``); ``password``: asked before anything is shown
    (at least 8 characters, not a common password)."""

    expires_in: Annotated[int, msgspec.Meta(ge=60, le=90 * 24 * 3600)] | None = None
    show: Annotated[list[Shown], msgspec.Meta(max_length=8)] = msgspec.field(default_factory=list)
    password: NewLinkPassword | None = None


class UnlockIn(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(max_length=200)]


class ShareOut(msgspec.Struct):
    id: str
    token: str
    url: str
    expires_at: dt.datetime
    show: list[str]
    password: bool = False


class ShareListItem(msgspec.Struct):
    """A link as its owner sees it later: the token itself is not kept, so no URL. ``kind``:
    ``image`` (``image_id`` set) or ``album`` (``album_id``, ``album_name``); ``password``:
    whether it asks for one."""

    id: str
    image_id: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    expired: bool
    show: list[str]
    kind: str = "image"
    album_id: str | None = None
    album_name: str | None = None
    password: bool = False
    # The shared photo's title ("" when it has none), so a list can name the link.
    image_title: str | None = None


class SharedImageOut(msgspec.Struct):
    """What ``/s/{token}`` shows: the picture, and only the details the owner chose (the
    others are null)."""

    id: str
    width: int
    height: int
    placeholder: Placeholder
    urls: ImageUrls
    title: str | None = None
    taken_at: dt.datetime | None = None
    # With ``taken_at``: "local" when it is a camera's wall-clock time (shown as written).
    taken_at_zone: str | None = None
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    # "processing" right after the upload: no renditions yet (the page polls until "ready").
    status: str = "ready"


class AlbumShareIn(msgspec.Struct, forbid_unknown_fields=True):
    """``show``: what the link reveals besides the pictures; ``password``: asked before
    anything is shown (at least 8 characters, not a common password)."""

    expires_in: Annotated[int, msgspec.Meta(ge=60, le=90 * 24 * 3600)] | None = None
    show: Annotated[list[Shown], msgspec.Meta(max_length=8)] = msgspec.field(default_factory=list)
    password: NewLinkPassword | None = None


class AlbumShareOut(msgspec.Struct):
    id: str
    token: str
    url: str
    expires_at: dt.datetime
    show: list[str]
    password: bool


class SharedAlbumOut(msgspec.Struct):
    """An album as a link or a member sees it: its name, the cover's id, one page of photos."""

    name: str
    image_count: int
    cover_id: str | None
    images: list[SharedImageOut]
    next_cursor: str | None = None
    owner_email: str | None = None


def shared_out(
    image: Image, token: str, shows: list[str] | None, *, prefix: str | None = None
) -> SharedImageOut:
    """``prefix``: where the renditions are served (an album's links pass their own)."""
    shown = set(shows or ())
    prefix = prefix or f"/s/{token}/renditions"
    # The original keeps its EXIF (GPS included), so a share link offers renditions only.
    renditions = {name: f"{prefix}/{name}" for name in sorted(image.renditions or {})}
    out = SharedImageOut(
        id=str(image.id),
        width=image.width,
        height=image.height,
        placeholder=image.placeholder,
        urls=ImageUrls(original=renditions.get("lg", ""), renditions=renditions),
        status=image.status or "ready",
    )
    if "title" in shown:
        out.title = image.title
    if "taken_at" in shown:
        out.taken_at = image.taken_at
        out.taken_at_zone = (image.meta or {}).get("taken_at_zone")
    if "file" in shown:
        out.content_type, out.size, out.sha256 = image.content_type, image.size, image.sha256
    return out
