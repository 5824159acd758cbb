"""What photo and album share links have in common: the stored token hash, the link's state
(an unknown token: 404; a revoked or expired link: 410 Gone, saying which), and the optional
password.

Only a token's sha256 is stored. A photo link with a password stores the hash of ``locked:``
followed by the token instead: code from before photo links had passwords (schema 0016, which
still runs on this schema, for rollbacks) looks up the plain hash only, so it answers 404
rather than show the photo without asking. Revoking keeps the row (``revoked_at``), so the
address can say 410 and why, and moves ``expires_at`` to that moment, so that older code
refuses it too. Error answers are ``no-store``: a 410 is cacheable by default, and a link
whose photo leaves the trash works again.

A password's argon2 hash is stored, never the password. The share page sends it once in a
POST body (never in a URL) to ``.../unlock``, which answers with an HttpOnly cookie scoped to
that link's path; the cookie is an HMAC of the link's id and password hash, so revoking the
link (or its expiry) ends it too. Attempts are counted per address (``SALON_AUTH_RATE_LIMIT``
a minute) and per link *and* address (``SALON_LOGIN_FAILURE_LIMIT`` failures within
``SALON_LOGIN_FAILURE_WINDOW`` seconds, sliding), as sign-ins are: one visitor's wrong guesses
never lock the link's other visitors out. Many addresses together get at most
``SALON_SHARE_PASSWORD_FAILURE_LIMIT`` wrong passwords on one link within that window (20
addresses made 200 guesses in 96 s in the second outside attack); past it, every password
attempt on the link answers 429 until the window slides on. A guesser can so hold the link's
new visitors back for a while, never open it; browsers that already gave the password keep
their unlock cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Album, AlbumShareLink, Image, ShareLink
from salon.defaults.hashing import HashPool
from salon.domain.albums import services as albums
from salon.domain.auth.passwords import (
    IS_EMAIL,
    TOO_COMMON,
    TOO_SIMPLE,
    is_common,
    is_email,
    too_simple,
)
from salon.domain.auth.throttle import MINUTE, AuthThrottle, Reservation, _refuse
from salon.domain.images.processing import FAILED
from salon.domain.images.services import NotFound
from salon.domain.shares.schemas import SharedAlbumOut, shared_out
from salon.errors import Forbidden, Gone, Missing, NeedsCredentials, RequestRefused
from salon.settings import CoreSettings

Link = TypeVar("Link", ShareLink, AlbumShareLink)
LOCKED = "locked:"
NO_STORE = {"cache-control": "no-store"}
_hasher = PasswordHasher()
# Link passwords hash in their own small pool: a flood of guesses is 429, not a stalled server.
_hash_pool: HashPool | None = None


class LinkGone(Gone):
    """The link existed and ended (revoked, expired, or its photo is in the trash): 410."""

    status_code = 410


class UnknownLink(Missing):
    """No link has this token: 404 (``no-store`` like the 410, so the two look alike)."""

    status_code = 404


def token_hash(token: str, *, locked: bool = False) -> str:
    return hashlib.sha256(f"{LOCKED if locked else ''}{token}".encode()).hexdigest()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def gone(detail: str) -> LinkGone:
    return LinkGone(detail, headers=NO_STORE)


def unknown() -> UnknownLink:
    return UnknownLink("no share link has this address", headers=NO_STORE)


async def find_link(session: AsyncSession, model: type[Link], token: str) -> Link:
    """The live link with ``token``; 404 when there is none, 410 when it was revoked or has
    expired (the detail says which)."""
    hashes = [token_hash(token), token_hash(token, locked=True)]
    query = select(model).where(model.token_hash.in_(hashes)).limit(1)
    link = (await session.execute(query)).scalar_one_or_none()
    if link is None:
        raise unknown()
    if link.revoked_at is not None:
        raise gone("this share link was revoked by its owner")
    if link.expires_at <= now():
        raise gone(f"this share link expired on {link.expires_at:%Y-%m-%d %H:%M} UTC")
    return link


async def owned_link(
    session: AsyncSession, model: type[Link], link_id: uuid.UUID, owner_id: uuid.UUID
) -> Link | None:
    """The owner's link ``link_id`` unless already revoked (expired ones included)."""
    query = select(model).where(
        model.id == link_id, model.owner_id == owner_id, model.revoked_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


def revoke(link: ShareLink | AlbumShareLink) -> None:
    """End the link now, keeping its row (see the module doc)."""
    moment = now()
    link.revoked_at = moment
    link.expires_at = min(link.expires_at, moment)


# ------------------------------------------------------------------------------ passwords


def _pool() -> HashPool:
    global _hash_pool
    if _hash_pool is None:
        _hash_pool = HashPool(concurrency=1, queue=8)
    return _hash_pool


async def hash_password(password: str, owner_email: str | None = None) -> str:
    """A new link's password, hashed; 400 saying why when it is a common one (the schema
    already asks for at least 8 characters), too simple (blanks only, ``aaaaaaaa``,
    ``abcdefgh``) or the owner's e-mail address or its local part, as for account passwords:
    "123456", then eight spaces and the owner's address, were accepted."""
    if is_common(password):
        raise RequestRefused(f"{TOO_COMMON} (a share link's password)")
    if too_simple(password):
        raise RequestRefused(f"{TOO_SIMPLE} (a share link's password)")
    if owner_email and is_email(password, owner_email):
        raise RequestRefused(f"{IS_EMAIL} (a share link's password)")
    return await _pool().run(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Lock:
    """Where a protected link's unlock cookie lives: its ``name`` and ``path`` (the link's
    JSON and pictures, nothing else), and what the link shows (``what``, for messages)."""

    name: str
    path: str
    what: str


def _unlock_value(secret: str, link: ShareLink | AlbumShareLink) -> str:
    # The key's label predates photo passwords: kept, so album cookies already given stay
    # valid; the link's id in the message keeps each link's cookie its own.
    key = hashlib.sha256(f"album-share-unlock:{secret}".encode()).digest()
    message = f"{link.id}:{link.password_hash}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Visitor:
    """What a share link's checks need of the request: the cookies it sent, its address,
    and whether it came over https (for the cookie's ``Secure`` flag)."""

    cookies: dict[str, str]
    address: str
    https: bool


@dataclass(frozen=True, slots=True)
class UnlockCookie:
    """The cookie that opens a protected link in one browser, until the link ends."""

    name: str
    value: str
    path: str
    max_age: int
    secure: bool


def require_unlocked(
    visitor: Visitor,
    core: CoreSettings,
    link: ShareLink | AlbumShareLink,
    lock: Lock,
) -> None:
    """401 when the link has a password this browser has not given yet."""
    if not link.password_hash:
        return
    sent = visitor.cookies.get(lock.name, "")
    if not hmac.compare_digest(sent, _unlock_value(core.secret_key, link)):
        raise NeedsCredentials(
            f"this {lock.what} is protected by a password: POST it to {lock.path}/unlock",
            headers={"WWW-Authenticate": f'Password realm="{lock.what} share"', **NO_STORE},
        )


@dataclass(frozen=True, slots=True)
class Reservations:
    """Attempts counted on several keys at once; :meth:`release` takes each back."""

    parts: tuple[Reservation, ...]

    async def release(self) -> None:
        for part in self.parts:
            await part.release()


async def _reserve_attempt(
    address: str, core: CoreSettings, throttle: AuthThrottle, link_id: str
) -> Reservations:
    """Count a password attempt on the link: per client address a minute, per link *and*
    address in the sign-in window, and per link from every address together (the last two
    reserved before hashing, taken back when right; see the module docstring)."""
    hits, left = await throttle.counters.hit(f"share:ip:{address}", MINUTE)
    if hits > core.auth_rate_limit:
        raise _refuse(left, "password attempts from your address")
    key = f"share:link:{link_id}:ip:{address}"
    limit = core.login_failure_limit
    mine = await throttle.reserve(key, limit, "wrong passwords for this link from your address")
    try:
        every = await throttle.reserve(
            f"share:link:{link_id}",
            core.share_password_failure_limit,
            "wrong passwords for this link",
        )
    except BaseException:
        await mine.release()
        raise
    return Reservations((mine, every))


async def unlock(
    visitor: Visitor,
    core: CoreSettings,
    throttle: AuthThrottle,
    link: ShareLink | AlbumShareLink,
    password: str,
    lock: Lock,
) -> UnlockCookie:
    """Check a protected link's password: the cookie that opens it in this browser until the
    link ends; 403 for a wrong password, 429 after too many, 404 without one."""
    if not link.password_hash:
        raise UnknownLink("this link has no password", headers=NO_STORE)
    attempt = await _reserve_attempt(visitor.address, core, throttle, str(link.id))
    try:
        right = await _pool().run(_verify, link.password_hash, password)
    except BaseException:
        await attempt.release()
        raise
    if not right:
        raise Forbidden("wrong password")
    await attempt.release()
    return UnlockCookie(
        name=lock.name,
        value=_unlock_value(core.secret_key, link),
        path=lock.path,
        max_age=max(1, int((link.expires_at - now()).total_seconds())),
        secure=visitor.https,
    )


def photo_lock(token: str) -> Lock:
    return Lock(name="salon_photo_share", path=f"/s/{token}", what="photo")


async def shared_link(session: AsyncSession, token: str) -> tuple[ShareLink, Image]:
    """The live link and its image: 404 for an unknown token, 410 when the link was revoked
    or expired, or its photo is in the trash (it works again if the photo is restored)."""
    link = await find_link(session, ShareLink, token)
    image = await session.get(Image, link.image_id)
    if image is None:
        raise unknown()
    if image.trashed_at is not None:
        raise gone("the photo behind this link is no longer available")
    if image.status == FAILED:  # a link made while it was processing
        raise gone("the photo behind this link could not be processed")
    return link, image


async def unlocked_image(
    visitor: Visitor, core: CoreSettings, session: AsyncSession, token: str
) -> tuple[ShareLink, Image]:
    """As :func:`shared_link`, and 401 while a protected link is locked in this browser."""
    link, image = await shared_link(session, token)
    require_unlocked(visitor, core, link, photo_lock(token))
    return link, image


# Album links.

PAGE_SIZE = 200


async def album_page(
    session: AsyncSession,
    album: Album,
    *,
    prefix: str,
    shows: list[str] | None,
    cursor: uuid.UUID | None,
) -> SharedAlbumOut:
    """One page of ``album``'s photos (newest first, none in the trash or failed) with
    rendition URLs under ``prefix``/{image id}/renditions/{name}."""
    query = _shown(album).order_by(Image.id.desc()).limit(PAGE_SIZE + 1)
    if cursor is not None:
        query = query.where(Image.id < cursor)
    rows = list((await session.scalars(query)).all())
    next_cursor = None
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        next_cursor = str(rows[-1].id)
    count = await session.scalar(select(func.count()).select_from(_shown(album).subquery()))
    cover = await albums.cover_id(session, album)
    images = [
        shared_out(image, "", shows, prefix=f"{prefix}/{image.id}/renditions") for image in rows
    ]
    return SharedAlbumOut(album.name, count or 0, cover, images, next_cursor)


def _shown(album: Album) -> Select[tuple[Image]]:
    """The album's photos a visitor sees: a failed one (Salon could not read its file) has
    no picture to show, so it is left out."""
    return albums.photos_of(album).where(Image.status != FAILED)


async def album_image(session: AsyncSession, album: Album, image_id: uuid.UUID) -> Image:
    """An image of ``album`` (its owner's, not in the trash), else 404."""
    query = _shown(album).where(Image.id == image_id)
    image = (await session.execute(query)).scalar_one_or_none()
    if image is None:
        raise NotFound("image not found in this album")
    return image


def album_lock(token: str) -> Lock:
    return Lock(name="salon_album_share", path=f"/s/album/{token}", what="album")


async def valid_link(
    session: AsyncSession,
    token: str,
    *,
    visitor: Visitor | None = None,
    core: CoreSettings | None = None,
) -> tuple[AlbumShareLink, Album]:
    """The link and its album; 404 for an unknown token, 410 when revoked or expired. With
    ``visitor``, a password-protected link also needs the unlock cookie (else 401)."""
    link = await find_link(session, AlbumShareLink, token)
    album = await session.get(Album, link.album_id)
    if album is None:
        raise unknown()
    if visitor is not None and core is not None:
        require_unlocked(visitor, core, link, album_lock(token))
    return link, album
