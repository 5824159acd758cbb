"""Album share links: ``POST /api/albums/{id}/share`` makes an expiring token for one album;
``/s/album/{token}`` lists the album's photos (renditions only, and only the details the owner
chose to show) to whoever holds it. Only the token's hash is stored.

A link may carry a password: its argon2 hash is stored, never the password. The share page
sends it once in a POST body (never in a URL) to ``/s/album/{token}/unlock``, which answers
with an HttpOnly cookie scoped to that link's path; the cookie is an HMAC of the link's id and
password hash, so revoking the link (or its expiry) ends it too. Attempts are counted per
address (``SALON_AUTH_RATE_LIMIT`` a minute) and per link (``SALON_LOGIN_FAILURE_LIMIT``
failures within ``SALON_LOGIN_FAILURE_WINDOW`` seconds), as sign-ins are.

As for single-photo links, the pictures are served by ``/s/album/{token}/images/...`` itself,
each request checking the link, so revocation and expiry stop them at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from typing import Annotated, Any

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Album, AlbumImage, AlbumShareLink, Image, User
from salon.defaults.hashing import HashPool
from salon.domain.albums import services as albums
from salon.domain.auth.throttle import MINUTE, AuthThrottle, _refuse
from salon.domain.images.services import NotFound, rendition_entry
from salon.domain.images.serving import serve_object
from salon.domain.openapi import AUTHENTICATED, IMAGE_BYTES, RENDITION_PARAMETER, documented
from salon.domain.shares.controllers import (
    SHARED_CACHE,
    SharedImageOut,
    Shown,
    _hash,
    _now,
    shared_out,
)
from salon.proxies import is_https, public_base_url
from salon.runtime import Runtime

UNLOCK_COOKIE = "salon_album_share"
PAGE_SIZE = 200
TOKEN = Annotated[str, Parameter(max_length=100)]
_hasher = PasswordHasher()
# Link passwords hash in their own small pool: a flood of guesses is 429, not a stalled server.
_hash_pool: HashPool | None = None


def _pool() -> HashPool:
    global _hash_pool
    if _hash_pool is None:
        _hash_pool = HashPool(concurrency=1, queue=8)
    return _hash_pool


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


class UnlockIn(msgspec.Struct, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(max_length=200)]


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


def _unlock_value(secret: str, link: AlbumShareLink) -> str:
    key = hashlib.sha256(f"album-share-unlock:{secret}".encode()).digest()
    message = f"{link.id}:{link.password_hash}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


async def valid_link(
    session: AsyncSession,
    token: str,
    *,
    request: Request[Any, Any, Any] | None = None,
    runtime: Runtime | None = None,
) -> tuple[AlbumShareLink, Album]:
    """The link and its album; 404 when unknown, expired or revoked. With ``request``, a
    password-protected link also needs the unlock cookie (else 401)."""
    query = select(AlbumShareLink).where(AlbumShareLink.token_hash == _hash(token))
    link = (await session.execute(query)).scalar_one_or_none()
    if link is None or link.expires_at <= _now():
        raise NotFound("share link not found or expired")
    album = await session.get(Album, link.album_id)
    if album is None:
        raise NotFound("share link not found or expired")
    if request is not None and runtime is not None and link.password_hash:
        sent = request.cookies.get(UNLOCK_COOKIE, "")
        expected = _unlock_value(runtime.core.secret_key, link)
        if not hmac.compare_digest(sent, expected):
            raise NotAuthorizedException(
                "this album is protected by a password: POST it to /s/album/{token}/unlock",
                headers={"WWW-Authenticate": 'Password realm="album share"'},
            )
    return link, album


async def _count_attempt(request: Request[Any, Any, Any], runtime: Runtime, link_id: str) -> None:
    throttle: AuthThrottle = request.app.state.throttle
    address = request.client.host if request.client else "unknown"
    hits, left = await throttle.counters.hit(f"album-share:ip:{address}", MINUTE)
    if hits > runtime.core.auth_rate_limit:
        raise _refuse(left, "password attempts from your address")
    failures, left = await throttle.counters.count(
        f"album-share:link:{link_id}", runtime.core.login_failure_window
    )
    if failures >= runtime.core.login_failure_limit:
        raise _refuse(left, "wrong passwords for this link")


async def _failed(request: Request[Any, Any, Any], runtime: Runtime, link_id: str) -> None:
    throttle: AuthThrottle = request.app.state.throttle
    await throttle.counters.hit(f"album-share:link:{link_id}", runtime.core.login_failure_window)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
        album_id: uuid.UUID,
        db_session: AsyncSession,
        current_user: User,
        runtime: Runtime,
        data: AlbumShareIn | None = None,
    ) -> AlbumShareOut:
        """A new link to one of the caller's albums; ``show`` picks what it reveals about
        each photo, ``password`` (optional) is asked before anything is shown."""
        album = await albums.owned(db_session, current_user.id, album_id)
        body = data or AlbumShareIn()
        ttl = body.expires_in or runtime.core.share_link_ttl
        password_hash = await _pool().run(_hasher.hash, body.password) if body.password else None
        token = secrets.token_urlsafe(24)
        link = AlbumShareLink(
            token_hash=_hash(token),
            album_id=album.id,
            owner_id=current_user.id,
            expires_at=_now() + dt.timedelta(seconds=ttl),
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
        db_session: AsyncSession,
        runtime: Runtime,
        cursor: uuid.UUID | None = None,
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
        data: UnlockIn,
        db_session: AsyncSession,
        runtime: Runtime,
    ) -> Response[None]:
        """Give a protected link's password: the answer's cookie opens the album (and its
        pictures) in this browser until the link ends. 403 for a wrong password, 429 after
        too many."""
        link, _album = await valid_link(db_session, album_token)
        if not link.password_hash:
            raise NotFound("this link has no password")
        await _count_attempt(request, runtime, str(link.id))
        if not await _pool().run(_verify, link.password_hash, data.password):
            await _failed(request, runtime, str(link.id))
            raise PermissionDeniedException("wrong password")
        max_age = max(1, int((link.expires_at - _now()).total_seconds()))
        cookie = Cookie(
            key=UNLOCK_COOKIE,
            value=_unlock_value(runtime.core.secret_key, link),
            path=f"/s/album/{album_token}",
            max_age=max_age,
            httponly=True,
            secure=is_https(request, runtime.core.public_url),
            samesite="strict",
        )
        return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[cookie])

    @get(
        "/s/album/{album_token:str}/images/{image_id:uuid}/renditions/{name:str}",
        operation_id="album_share_rendition",
        operation_class=documented(responses=IMAGE_BYTES),
    )
    async def rendition(
        self,
        request: Request[Any, Any, Any],
        album_token: TOKEN,
        image_id: uuid.UUID,
        name: Annotated[str, RENDITION_PARAMETER],
        db_session: AsyncSession,
        runtime: Runtime,
    ) -> Response[Any]:
        """One photo's rendition, sent here (never a redirect) while the link is valid."""
        _link, album = await valid_link(db_session, album_token, request=request, runtime=runtime)
        return await serve_album_rendition(request, runtime, db_session, album, image_id, name)
