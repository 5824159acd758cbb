"""Share links: ``POST /api/images/{id}/share`` makes an expiring token, with an optional
password, as album links have; ``/s/{token}`` shows that one image to whoever holds it (and
gave the password), and nothing else. Only the token's hash is stored; what all links share
(their state, 404 or 410 Gone, and passwords) is :mod:`salon.domain.shares.services`.

The owner chooses what a link reveals besides the picture (``show``): the ``title``, the
capture time (``taken_at``), and the ``file`` details (type, byte size, sha256). By default
nothing: a title is often the original file name. ``GET /api/shares`` lists the caller's
links, to photos and to albums, and
``DELETE /api/shares/{id}`` revokes one: its address answers 410 Gone from then on.

A shared picture's bytes are served by ``/s/{token}/renditions/{name}`` itself, never by a
redirect to a signed ``/media/`` or presigned URL: such a URL would keep working for its own
lifetime after the link expired or was revoked. Each request checks the link, and browsers
revalidate (``no-cache``), so a revoked link stops working at once.

Album share links: ``POST /api/albums/{id}/share`` makes an expiring token for one album;
``/s/album/{token}`` lists the album's photos (renditions only, and only the details the owner
chose to show) to whoever holds it. Only the token's hash is stored.

A link may carry a password, given once to ``/s/album/{token}/unlock``; an unknown token is
404, a revoked or expired link 410 Gone (see :mod:`salon.domain.shares.services`).

As for single-photo links, the pictures are served by ``/s/album/{token}/images/...`` itself,
each request checking the link, so revocation and expiry stop them at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post, route
from litestar.datastructures import Cookie
from litestar.enums import HttpMethod
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Album, AlbumShareLink, Image, ShareLink
from salon.domain.albums import services as albums
from salon.domain.auth.same_site import same_site_json_guard
from salon.domain.deps import CurrentUser, DbSession, RuntimeDep, ThrottleDep
from salon.domain.images.processing import FAILED
from salon.domain.images.services import NotFound, get_owned, rendition_entry
from salon.domain.images.serving import get_and_head, serve_object
from salon.domain.openapi import AUTHENTICATED, IMAGE_BYTES, RENDITION_PARAMETER, documented
from salon.domain.shares import services
from salon.domain.shares.schemas import (
    AlbumShareIn,
    AlbumShareOut,
    SharedAlbumOut,
    SharedImageOut,
    ShareIn,
    ShareListItem,
    ShareOut,
    UnlockIn,
    shared_out,
)
from salon.domain.shares.services import (
    UnlockCookie,
    Visitor,
    album_image,
    album_lock,
    album_page,
    photo_lock,
    shared_link,
    unlocked_image,
    valid_link,
)
from salon.errors import Conflict
from salon.proxies import is_https, public_base_url
from salon.runtime import Runtime
from salon.settings import CoreSettings

SHARED_CACHE = "private, no-cache"  # revalidate each time: a revoked link stops at once
TOKEN = Annotated[str, Parameter(max_length=100)]


def visitor(request: Request[Any, Any, Any], core: CoreSettings) -> Visitor:
    """What the share-link service needs to know of this request."""
    address = request.client.host if request.client else "unknown"
    return Visitor(dict(request.cookies), address, is_https(request, core.public_url))


def unlock_response(cookie: UnlockCookie) -> Response[None]:
    """204 with the cookie that opens a protected link (HttpOnly, for that link's path only)."""
    opener = Cookie(
        key=cookie.name,
        value=cookie.value,
        path=cookie.path,
        max_age=cookie.max_age,
        httponly=True,
        secure=cookie.secure,
        samesite="strict",
    )
    return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[opener])


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
        if image.status == FAILED:
            # Its link would show a visitor nothing: Salon could not read the file.
            raise Conflict(
                f"this photo could not be processed, so it cannot be shared: {image.error}"
            )
        body = data or ShareIn()
        ttl = body.expires_in or runtime.core.share_link_ttl
        shows: list[str] = sorted(set(body.show))
        password_hash = (
            await services.hash_password(body.password, current_user.email)
            if body.password
            else None
        )
        token = secrets.token_urlsafe(24)
        link = ShareLink(
            token_hash=services.token_hash(token, locked=password_hash is not None),
            image_id=image.id,
            owner_id=current_user.id,
            expires_at=services.now() + dt.timedelta(seconds=ttl),
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
        now = services.now()
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
        link = await services.owned_link(
            db_session, ShareLink, share_id, current_user.id
        ) or await services.owned_link(db_session, AlbumShareLink, share_id, current_user.id)
        if link is None:
            raise NotFound("share link not found")
        services.revoke(link)
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
        link, image = await unlocked_image(
            visitor(request, runtime.core), runtime.core, db_session, token
        )
        out = shared_out(image, token, link.shows)
        return Response(out, headers={"cache-control": "private, no-store"})

    @route(
        "/s/{token:str}/renditions/{name:str}",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        operation_id=get_and_head("shared_rendition"),
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
        _link, image = await unlocked_image(
            visitor(request, runtime.core), runtime.core, db_session, token
        )
        entry = rendition_entry(image, name, runtime.renditions, visitor=True)
        return await serve_object(
            request,
            runtime,
            key=entry["key"],
            content_type=entry["content_type"],
            etag=f"{image.sha256}-{name}",
            direct=True,
            cache_control=SHARED_CACHE,
        )

    @post(
        "/s/{token:str}/unlock",
        operation_id="unlock_share",
        status_code=HTTP_204_NO_CONTENT,
        guards=[same_site_json_guard],
    )
    async def unlock(
        self,
        request: Request[Any, Any, Any],
        token: Annotated[str, Parameter(max_length=100)],
        data: JSONBody[UnlockIn],
        db_session: DbSession,
        runtime: RuntimeDep,
        auth_throttle: ThrottleDep,
    ) -> Response[None]:
        """Give a protected link's password: the answer's cookie opens the photo in this
        browser until the link ends. 403 for a wrong password, 429 after too many."""
        link, _image = await shared_link(db_session, token)
        opened = visitor(request, runtime.core)
        lock = photo_lock(token)
        cookie = await services.unlock(
            opened, runtime.core, auth_throttle, link, data.password, lock
        )
        return unlock_response(cookie)


async def serve_album_rendition(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    session: AsyncSession,
    album: Album,
    image_id: uuid.UUID,
    name: str,
) -> Response[Any]:
    image = await album_image(session, album, image_id)
    entry = rendition_entry(image, name, runtime.renditions, visitor=True)
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
        password_hash = (
            await services.hash_password(body.password, current_user.email)
            if body.password
            else None
        )
        token = secrets.token_urlsafe(24)
        link = AlbumShareLink(
            token_hash=services.token_hash(token),
            album_id=album.id,
            owner_id=current_user.id,
            expires_at=services.now() + dt.timedelta(seconds=ttl),
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
        link, album = await valid_link(
            db_session, album_token, visitor=visitor(request, runtime.core), core=runtime.core
        )
        prefix = f"/s/album/{album_token}/images"
        out = await album_page(db_session, album, prefix=prefix, shows=link.shows, cursor=cursor)
        return Response(out, headers={"cache-control": "private, no-store"})

    @post(
        "/s/album/{album_token:str}/unlock",
        operation_id="unlock_album_share",
        status_code=HTTP_204_NO_CONTENT,
        guards=[same_site_json_guard],
    )
    async def unlock(
        self,
        request: Request[Any, Any, Any],
        album_token: TOKEN,
        data: JSONBody[UnlockIn],
        db_session: DbSession,
        runtime: RuntimeDep,
        auth_throttle: ThrottleDep,
    ) -> Response[None]:
        """Give a protected link's password: the answer's cookie opens the album (and its
        pictures) in this browser until the link ends. 403 for a wrong password, 429 after
        too many."""
        link, _album = await valid_link(db_session, album_token)
        opened = visitor(request, runtime.core)
        lock = album_lock(album_token)
        cookie = await services.unlock(
            opened, runtime.core, auth_throttle, link, data.password, lock
        )
        return unlock_response(cookie)

    @route(
        "/s/album/{album_token:str}/images/{image_id:uuid}/renditions/{name:str}",
        http_method=[HttpMethod.GET, HttpMethod.HEAD],
        operation_id=get_and_head("album_share_rendition"),
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
        _link, album = await valid_link(
            db_session, album_token, visitor=visitor(request, runtime.core), core=runtime.core
        )
        return await serve_album_rendition(request, runtime, db_session, album, image_id, name)
