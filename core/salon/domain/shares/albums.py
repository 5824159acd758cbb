"""Album share links: ``POST /api/albums/{id}/share`` makes an expiring token for one album;
``/s/album/{token}`` lists the album's photos (renditions only, and only the details the owner
chose to show) to whoever holds it. Only the token's hash is stored.

A link may carry a password, given once to ``/s/album/{token}/unlock``; an unknown token is
404, a revoked or expired link 410 Gone (see :mod:`salon.domain.shares.access`).

As for single-photo links, the pictures are served by ``/s/album/{token}/images/...`` itself,
each request checking the link, so revocation and expiry stop them at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Album, AlbumImage, AlbumShareLink, Image
from salon.domain.albums import services as albums
from salon.domain.deps import CurrentUser, DbSession, RuntimeDep
from salon.domain.images.services import NotFound, rendition_entry
from salon.domain.images.serving import serve_object
from salon.domain.openapi import AUTHENTICATED, IMAGE_BYTES, RENDITION_PARAMETER, documented
from salon.domain.shares import access
from salon.domain.shares.controllers import (
    SHARED_CACHE,
    SharedImageOut,
    Shown,
    UnlockIn,
    shared_out,
)
from salon.proxies import public_base_url
from salon.runtime import Runtime

PAGE_SIZE = 200
TOKEN = Annotated[str, Parameter(max_length=100)]


class AlbumShareIn(msgspec.Struct, forbid_unknown_fields=True):
    """``show``: what the link reveals besides the pictures; ``password``: asked before
    anything is shown (at least 6 characters)."""

    expires_in: Annotated[int, msgspec.Meta(ge=60, le=90 * 24 * 3600)] | None = None
    show: Annotated[list[Shown], msgspec.Meta(max_length=8)] = msgspec.field(default_factory=list)
    password: Annotated[str, msgspec.Meta(min_length=6, max_length=200)] | None = None


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


async def album_page(
    session: AsyncSession,
    album: Album,
    *,
    prefix: str,
    shows: list[str] | None,
    cursor: uuid.UUID | None,
) -> SharedAlbumOut:
    """One page of ``album``'s photos (newest first, none in the trash) with rendition URLs
    under ``prefix``/{image id}/renditions/{name}."""
    query = (
        select(Image)
        .join(AlbumImage, AlbumImage.image_id == Image.id)
        .where(
            AlbumImage.album_id == album.id,
            Image.owner_id == album.owner_id,
            Image.trashed_at.is_(None),
        )
        .order_by(Image.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if cursor is not None:
        query = query.where(Image.id < cursor)
    rows = list((await session.scalars(query)).all())
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = str(rows[-1].id)
    count = await albums.count_images(session, album.id)
    cover = await albums.cover_id(session, album)
    images = [
        shared_out(image, "", shows, prefix=f"{prefix}/{image.id}/renditions") for image in rows
    ]
    return SharedAlbumOut(album.name, count, cover, images, next_cursor)


async def album_image(session: AsyncSession, album: Album, image_id: uuid.UUID) -> Image:
    """An image of ``album`` (its owner's, not in the trash), else 404."""
    query = (
        select(Image)
        .join(AlbumImage, AlbumImage.image_id == Image.id)
        .where(
            AlbumImage.album_id == album.id,
            Image.id == image_id,
            Image.owner_id == album.owner_id,
            Image.trashed_at.is_(None),
        )
    )
    image = (await session.execute(query)).scalar_one_or_none()
    if image is None:
        raise NotFound("image not found in this album")
    return image


async def serve_album_rendition(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    session: AsyncSession,
    album: Album,
    image_id: uuid.UUID,
    name: str,
) -> Response[Any]:
    image = await album_image(session, album, image_id)
    entry = rendition_entry(image, name, runtime.renditions)
    # Sent from here, never a redirect: a signed URL would outlive a revoked share.
    return await serve_object(
        request,
        runtime,
        key=entry["key"],
        content_type=entry["content_type"],
        etag=f"{image.sha256}-{name}",
        direct=True,
        cache_control=SHARED_CACHE,
    )


def album_lock(token: str) -> access.Lock:
    return access.Lock(name="salon_album_share", path=f"/s/album/{token}", what="album")


async def valid_link(
    session: AsyncSession,
    token: str,
    *,
    request: Request[Any, Any, Any] | None = None,
    runtime: Runtime | None = None,
) -> tuple[AlbumShareLink, Album]:
    """The link and its album; 404 for an unknown token, 410 when revoked or expired. With
    ``request``, a password-protected link also needs the unlock cookie (else 401)."""
    link = await access.find_link(session, AlbumShareLink, token)
    album = await session.get(Album, link.album_id)
    if album is None:
        raise access.unknown()
    if request is not None and runtime is not None:
        access.require_unlocked(request, runtime, link, album_lock(token))
    return link, album


class AlbumShareController(Controller):
    tags = ["shares"]

    @post(
        "/api/albums/{album_id:uuid}/share",
        operation_id="share_album",
        status_code=HTTP_201_CREATED,
        security=AUTHENTICATED,
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        album_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
        data: JSONBody[AlbumShareIn | None] = None,
    ) -> AlbumShareOut:
        """A new link to one of the caller's albums; ``show`` picks what it reveals about
        each photo, ``password`` (optional) is asked before anything is shown."""
        album = await albums.owned(db_session, current_user.id, album_id)
        body = data or AlbumShareIn()
        ttl = body.expires_in or runtime.core.share_link_ttl
        password_hash = await access.hash_password(body.password) if body.password else None
        token = secrets.token_urlsafe(24)
        link = AlbumShareLink(
            token_hash=access.token_hash(token),
            album_id=album.id,
            owner_id=current_user.id,
            expires_at=access.now() + dt.timedelta(seconds=ttl),
            shows=sorted(set(body.show)),
            password_hash=password_hash,
        )
        db_session.add(link)
        await db_session.commit()
        url = f"{public_base_url(request, runtime.core.public_url)}/share/album/{token}"
        return AlbumShareOut(
            str(link.id), token, url, link.expires_at, list(link.shows or ()), bool(password_hash)
        )

    @get("/s/album/{album_token:str}", operation_id="view_album_share")
    async def view(
        self,
        request: Request[Any, Any, Any],
        album_token: TOKEN,
        db_session: DbSession,
        runtime: RuntimeDep,
        cursor: FromQuery[uuid.UUID | None] = None,
    ) -> Response[SharedAlbumOut]:
        """The shared album's photos (one page; ``cursor`` for the next), or 401 when the
        link has a password and this browser has not given it yet."""
        link, album = await valid_link(db_session, album_token, request=request, runtime=runtime)
        prefix = f"/s/album/{album_token}/images"
        out = await album_page(db_session, album, prefix=prefix, shows=link.shows, cursor=cursor)
        return Response(out, headers={"cache-control": "private, no-store"})

    @post(
        "/s/album/{album_token:str}/unlock",
        operation_id="unlock_album_share",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def unlock(
        self,
        request: Request[Any, Any, Any],
        album_token: TOKEN,
        data: JSONBody[UnlockIn],
        db_session: DbSession,
        runtime: RuntimeDep,
    ) -> Response[None]:
        """Give a protected link's password: the answer's cookie opens the album (and its
        pictures) in this browser until the link ends. 403 for a wrong password, 429 after
        too many."""
        link, _album = await valid_link(db_session, album_token)
        return await access.unlock(request, runtime, link, data.password, album_lock(album_token))

    @get(
        "/s/album/{album_token:str}/images/{image_id:uuid}/renditions/{name:str}",
        operation_id="album_share_rendition",
        operation_class=documented(responses=IMAGE_BYTES),
    )
    async def rendition(
        self,
        request: Request[Any, Any, Any],
        album_token: TOKEN,
        image_id: FromPath[uuid.UUID],
        name: Annotated[str, RENDITION_PARAMETER],
        db_session: DbSession,
        runtime: RuntimeDep,
    ) -> Response[Any]:
        """One photo's rendition, sent here (never a redirect) while the link is valid."""
        _link, album = await valid_link(db_session, album_token, request=request, runtime=runtime)
        return await serve_album_rendition(request, runtime, db_session, album, image_id, name)
