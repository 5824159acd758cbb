"""Share links: ``POST /api/images/{id}/share`` makes an expiring token, with an optional
password, as album links have; ``/s/{token}`` shows that one image to whoever holds it (and
gave the password), and nothing else. Only the token's hash is stored; what all links share
(their state, 404 or 410 Gone, and passwords) is :mod:`salon.domain.shares.access`.

The owner chooses what a link reveals besides the picture (``show``): the ``title``, the
capture time (``taken_at``), and the ``file`` details (type, byte size, sha256). By default
nothing: a title is often the original file name. ``GET /api/shares`` lists the caller's
links, to photos and to albums (:mod:`salon.domain.shares.albums`), and
``DELETE /api/shares/{id}`` revokes one: its address answers 410 Gone from then on.

A shared picture's bytes are served by ``/s/{token}/renditions/{name}`` itself, never by a
redirect to a signed ``/media/`` or presigned URL: such a URL would keep working for its own
lifetime after the link expired or was revoked. Each request checks the link, and browsers
revalidate (``no-cache``), so a revoked link stops working at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Album, AlbumShareLink, Image, ShareLink
from salon.domain.deps import CurrentUser, DbSession, RuntimeDep
from salon.domain.images.schemas import ImageUrls, Placeholder
from salon.domain.images.services import NotFound, get_owned, rendition_entry
from salon.domain.images.serving import serve_object
from salon.domain.openapi import AUTHENTICATED, IMAGE_BYTES, RENDITION_PARAMETER, documented
from salon.domain.shares import access
from salon.errors import Conflict
from salon.proxies import public_base_url
from salon.runtime import Runtime

Shown = Literal["title", "taken_at", "file"]
SHARED_CACHE = "private, no-cache"  # revalidate each time: a revoked link stops at once


class ShareIn(msgspec.Struct, forbid_unknown_fields=True):
    """``show``: what the link reveals besides the picture (none by default); ``expires_in``:
    seconds (default ``SALON_SHARE_LINK_TTL``); ``password``: asked before anything is shown
    (at least 6 characters)."""

    expires_in: Annotated[int, msgspec.Meta(ge=60, le=90 * 24 * 3600)] | None = None
    show: Annotated[list[Shown], msgspec.Meta(max_length=8)] = msgspec.field(default_factory=list)
    password: Annotated[str, msgspec.Meta(min_length=6, max_length=200)] | None = None


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


def photo_lock(token: str) -> access.Lock:
    return access.Lock(name="salon_photo_share", path=f"/s/{token}", what="photo")


async def shared_link(session: AsyncSession, token: str) -> tuple[ShareLink, Image]:
    """The live link and its image: 404 for an unknown token, 410 when the link was revoked
    or expired, or its photo is in the trash (it works again if the photo is restored)."""
    link = await access.find_link(session, ShareLink, token)
    image = await session.get(Image, link.image_id)
    if image is None:
        raise access.unknown()
    if image.trashed_at is not None:
        raise access.gone("the photo behind this link is no longer available")
    return link, image


async def unlocked_image(
    request: Request[Any, Any, Any], runtime: Runtime, session: AsyncSession, token: str
) -> tuple[ShareLink, Image]:
    """As :func:`shared_link`, and 401 while a protected link is locked in this browser."""
    link, image = await shared_link(session, token)
    access.require_unlocked(request, runtime, link, photo_lock(token))
    return link, image


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


class ShareController(Controller):
    tags = ["shares"]

    @post(
        "/api/images/{image_id:uuid}/share",
        operation_id="share_image",
        status_code=HTTP_201_CREATED,
        security=AUTHENTICATED,
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        image_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
        data: JSONBody[ShareIn | None] = None,
    ) -> ShareOut:
        """A new link to one of the caller's images; ``show`` picks what it reveals,
        ``expires_in`` how long it works, ``password`` (optional) is asked before anything is
        shown."""
        image = await get_owned(db_session, current_user.id, image_id)
        if image.trashed_at is not None:
            # Its link would answer 410 from the start: say so now, not to the link's visitor.
            raise Conflict("this photo is in the trash; restore it before sharing it")
        body = data or ShareIn()
        ttl = body.expires_in or runtime.core.share_link_ttl
        shows: list[str] = sorted(set(body.show))
        password_hash = await access.hash_password(body.password) if body.password else None
        token = secrets.token_urlsafe(24)
        link = ShareLink(
            token_hash=access.token_hash(token, locked=password_hash is not None),
            image_id=image.id,
            owner_id=current_user.id,
            expires_at=access.now() + dt.timedelta(seconds=ttl),
            shows=shows,
            password_hash=password_hash,
        )
        db_session.add(link)
        await db_session.commit()
        # SALON_PUBLIC_URL when set, else the address the caller used (through trusted proxies).
        # The page people open (``/s/{token}`` is the JSON it reads).
        url = f"{public_base_url(request, runtime.core.public_url)}/share/{token}"
        return ShareOut(str(link.id), token, url, link.expires_at, shows, bool(password_hash))

    @get("/api/shares", operation_id="list_shares")
    async def list_shares(
        self, db_session: DbSession, current_user: CurrentUser
    ) -> list[ShareListItem]:
        """The caller's share links, newest first, expired ones included (until revoked)."""
        rows = await db_session.execute(
            select(ShareLink, Image.title)
            .join(Image, Image.id == ShareLink.image_id)
            .where(ShareLink.owner_id == current_user.id, ShareLink.revoked_at.is_(None))
            .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
            .limit(1000)
        )
        now = access.now()
        items = [
            ShareListItem(
                id=str(link.id),
                image_id=str(link.image_id),
                created_at=link.created_at,
                expires_at=link.expires_at,
                expired=link.expires_at <= now,
                show=list(link.shows or ()),
                password=link.password_hash is not None,
                image_title=title,
            )
            for link, title in rows.all()
        ]
        album_rows = await db_session.execute(
            select(AlbumShareLink, Album.name)
            .join(Album, Album.id == AlbumShareLink.album_id)
            .where(AlbumShareLink.owner_id == current_user.id, AlbumShareLink.revoked_at.is_(None))
            .limit(1000)
        )
        items += [
            ShareListItem(
                id=str(link.id),
                image_id=None,
                created_at=link.created_at,
                expires_at=link.expires_at,
                expired=link.expires_at <= now,
                show=list(link.shows or ()),
                kind="album",
                album_id=str(link.album_id),
                album_name=name,
                password=link.password_hash is not None,
            )
            for link, name in album_rows.all()
        ]
        items.sort(key=lambda item: (item.created_at, item.id), reverse=True)
        return items

    @delete(
        "/api/shares/{share_id:uuid}", operation_id="revoke_share", status_code=HTTP_204_NO_CONTENT
    )
    async def revoke(
        self, share_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> None:
        """Revoke a link (to a photo or an album) at once: its page and its pictures answer
        410 Gone from now on, and it leaves this list."""
        link = await access.owned_link(
            db_session, ShareLink, share_id, current_user.id
        ) or await access.owned_link(db_session, AlbumShareLink, share_id, current_user.id)
        if link is None:
            raise NotFound("share link not found")
        access.revoke(link)
        await db_session.commit()

    @get("/s/{token:str}", operation_id="view_share", media_type="application/json")
    async def view(
        self,
        request: Request[Any, Any, Any],
        token: Annotated[str, Parameter(max_length=100)],
        db_session: DbSession,
        runtime: RuntimeDep,
    ) -> Response[SharedImageOut]:
        """The shared picture and what its owner chose to show; 401 while a protected link is
        locked in this browser, 410 once the link is revoked or expired, 404 for no link."""
        link, image = await unlocked_image(request, runtime, db_session, token)
        out = shared_out(image, token, link.shows)
        return Response(out, headers={"cache-control": "private, no-store"})

    @get(
        "/s/{token:str}/renditions/{name:str}",
        operation_id="shared_rendition",
        operation_class=documented(responses=IMAGE_BYTES),
    )
    async def rendition(
        self,
        request: Request[Any, Any, Any],
        token: Annotated[str, Parameter(max_length=100)],
        name: Annotated[str, RENDITION_PARAMETER],
        db_session: DbSession,
        runtime: RuntimeDep,
    ) -> Response[Any]:
        """The picture's bytes, sent here (never a redirect) while the link is valid."""
        _link, image = await unlocked_image(request, runtime, db_session, token)
        entry = rendition_entry(image, name, runtime.renditions)
        return await serve_object(
            request,
            runtime,
            key=entry["key"],
            content_type=entry["content_type"],
            etag=f"{image.sha256}-{name}",
            direct=True,
            cache_control=SHARED_CACHE,
        )

    @post("/s/{token:str}/unlock", operation_id="unlock_share", status_code=HTTP_204_NO_CONTENT)
    async def unlock(
        self,
        request: Request[Any, Any, Any],
        token: Annotated[str, Parameter(max_length=100)],
        data: JSONBody[UnlockIn],
        db_session: DbSession,
        runtime: RuntimeDep,
    ) -> Response[None]:
        """Give a protected link's password: the answer's cookie opens the photo in this
        browser until the link ends. 403 for a wrong password, 429 after too many."""
        link, _image = await shared_link(db_session, token)
        return await access.unlock(request, runtime, link, data.password, photo_lock(token))
