"""Albums: named sets of one owner's images."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Album, AlbumImage, AlbumMember, Image, User
from salon.domain.images.services import NotFound
from salon.errors import Conflict, RequestRefused
from salon.text import clean_text

MAX_NAME = 200


class AlbumExists(Conflict):
    """The user already has an album of that name (409)."""


def clean_name(name: str) -> str:
    cleaned = " ".join(clean_text(name).split())
    if not cleaned:
        raise RequestRefused("album name must not be empty")
    if len(cleaned) > MAX_NAME:
        raise RequestRefused(f"album name must be at most {MAX_NAME} characters")
    return cleaned


async def create(session: AsyncSession, owner_id: uuid.UUID, name: str) -> Album:
    album = Album(owner_id=owner_id, name=clean_name(name))
    session.add(album)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise AlbumExists(f"you already have an album named {album.name!r}") from None
    return album


async def rename(session: AsyncSession, album: Album, name: str) -> Album:
    """Rename ``album``; a name the owner already uses is a 409, and the album keeps its name."""
    album.name = cleaned = clean_name(name)
    try:
        await session.commit()
    except IntegrityError:
        # The rollback expires ``album``: the message uses the local name, not the attribute.
        await session.rollback()
        raise AlbumExists(f"you already have an album named {cleaned!r}") from None
    return album


async def get_or_create(session: AsyncSession, owner_id: uuid.UUID, name: str) -> Album:
    query = select(Album).where(Album.owner_id == owner_id, Album.name == name)
    album = (await session.execute(query)).scalar_one_or_none()
    if album is not None:
        return album
    try:
        return await create(session, owner_id, name)
    except AlbumExists:
        return (await session.execute(query)).scalar_one()


async def owned(session: AsyncSession, owner_id: uuid.UUID, album_id: uuid.UUID) -> Album:
    album = await session.get(Album, album_id)
    if album is None or album.owner_id != owner_id:
        raise NotFound("album not found")
    return album


async def list_with_counts(session: AsyncSession, owner_id: uuid.UUID) -> list[tuple[Album, int]]:
    # Images in the trash are not counted (nor listed: salon.domain.images.services).
    count = func.count(Image.id)
    query = (
        select(Album, count)
        .outerjoin(AlbumImage, AlbumImage.album_id == Album.id)
        .outerjoin(Image, (Image.id == AlbumImage.image_id) & Image.trashed_at.is_(None))
        .where(Album.owner_id == owner_id)
        .group_by(Album.id)
        .order_by(Album.name)
    )
    return [(album, int(n)) for album, n in (await session.execute(query)).all()]


async def count_images(session: AsyncSession, album_id: uuid.UUID) -> int:
    query = (
        select(func.count())
        .select_from(AlbumImage)
        .join(Image, Image.id == AlbumImage.image_id)
        .where(AlbumImage.album_id == album_id, Image.trashed_at.is_(None))
    )
    return int((await session.execute(query)).scalar_one())


T = TypeVar("T")


async def _again_on_conflict(
    session: AsyncSession, album: Album, add: Callable[[uuid.UUID, uuid.UUID], Awaitable[T]]
) -> T:
    """``add(album_id, owner_id)``, once more when a parallel request inserted the same row
    at that moment (two dozen at once gave a 500 on the unique pair): what it asked is then
    there, and the second run counts it as present."""
    album_id, owner_id = album.id, album.owner_id  # a rollback expires ``album``
    try:
        return await add(album_id, owner_id)
    except IntegrityError:
        await session.rollback()
        done = await add(album_id, owner_id)
        await session.refresh(album)  # for the caller, which reads it next
        return done


async def add_images(session: AsyncSession, album: Album, image_ids: list[uuid.UUID]) -> int:
    """Add the caller's images; an id that is not theirs is a 404 and nothing is added."""
    return await _again_on_conflict(
        session, album, lambda album_id, owner: _add_images(session, album_id, owner, image_ids)
    )


async def _add_images(
    session: AsyncSession, album_id: uuid.UUID, owner_id: uuid.UUID, image_ids: list[uuid.UUID]
) -> int:
    wanted = set(image_ids)
    if not wanted:
        raise RequestRefused("image_ids must not be empty")
    if len(wanted) > 1000:
        raise RequestRefused("at most 1000 images per request")
    owned_ids = set(
        (
            await session.execute(
                select(Image.id).where(Image.owner_id == owner_id, Image.id.in_(wanted))
            )
        ).scalars()
    )
    if owned_ids != wanted:
        raise NotFound("image not found: " + ", ".join(sorted(str(i) for i in wanted - owned_ids)))
    present = set(
        (
            await session.execute(
                select(AlbumImage.image_id).where(
                    AlbumImage.album_id == album_id, AlbumImage.image_id.in_(wanted)
                )
            )
        ).scalars()
    )
    for image_id in wanted - present:
        session.add(AlbumImage(album_id=album_id, image_id=image_id))
    await session.commit()
    return len(wanted - present)


async def remove_image(session: AsyncSession, album: Album, image_id: uuid.UUID) -> None:
    await session.execute(
        delete(AlbumImage).where(AlbumImage.album_id == album.id, AlbumImage.image_id == image_id)
    )
    await session.commit()


def photos_of(album: Album) -> Select[tuple[Image]]:
    """The album's photos as a query: its owner's images, none in the trash (callers add the
    order, a page or one id)."""
    return (
        select(Image)
        .join(AlbumImage, AlbumImage.image_id == Image.id)
        .where(
            AlbumImage.album_id == album.id,
            Image.owner_id == album.owner_id,
            Image.trashed_at.is_(None),
        )
    )


async def cover_id(session: AsyncSession, album: Album) -> str | None:
    """The chosen cover while it is in the album and not in the trash, else the newest photo;
    only a photo whose renditions exist (a cover still processing would be a broken picture
    on the albums page)."""
    query = (
        select(Image.id)
        .join(AlbumImage, AlbumImage.image_id == Image.id)
        .where(
            AlbumImage.album_id == album.id,
            Image.owner_id == album.owner_id,
            Image.trashed_at.is_(None),
            Image.status == "ready",
        )
    )
    if album.cover_image_id is not None:
        chosen = (await session.execute(query.where(Image.id == album.cover_image_id))).scalar()
        if chosen is not None:
            return str(chosen)
    newest = (await session.execute(query.order_by(Image.id.desc()).limit(1))).scalar()
    return str(newest) if newest is not None else None


async def set_cover(session: AsyncSession, album: Album, image_id: uuid.UUID | None) -> None:
    """Choose the cover among the album's photos (None: back to the newest); 404 otherwise."""
    if image_id is not None:
        present = await session.execute(
            select(AlbumImage.image_id)
            .join(Image, Image.id == AlbumImage.image_id)
            .where(
                AlbumImage.album_id == album.id,
                AlbumImage.image_id == image_id,
                Image.trashed_at.is_(None),
            )
        )
        if present.scalar() is None:
            raise NotFound("the cover must be a photo of this album")
    album.cover_image_id = image_id
    await session.commit()


async def viewable(session: AsyncSession, user_id: uuid.UUID, album_id: uuid.UUID) -> Album:
    """An album the user owns or that was shared with them; 404 otherwise (same answer)."""
    album = await session.get(Album, album_id)
    if album is not None and album.owner_id == user_id:
        return album
    if album is not None:
        member = await session.get(AlbumMember, (album.id, user_id))
        if member is not None:
            return album
    raise NotFound("album not found")


async def shared_with(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Album, str | None]]:
    """Albums other users shared with ``user_id``, with their owner's e-mail, by name."""
    query = (
        select(Album, User.email)
        .join(AlbumMember, AlbumMember.album_id == Album.id)
        .join(User, User.id == Album.owner_id)
        .where(AlbumMember.user_id == user_id)
        .order_by(Album.name, Album.id)
    )
    return [(album, email) for album, email in (await session.execute(query)).all()]


async def members(session: AsyncSession, album: Album) -> list[tuple[AlbumMember, str | None]]:
    query = (
        select(AlbumMember, User.email)
        .join(User, User.id == AlbumMember.user_id)
        .where(AlbumMember.album_id == album.id)
        .order_by(AlbumMember.added_at, AlbumMember.user_id)
    )
    return [(member, email) for member, email in (await session.execute(query)).all()]


async def add_member(
    session: AsyncSession, album: Album, email: str
) -> list[tuple[AlbumMember, str | None]]:
    """Share ``album`` with the users who sign in with ``email`` (one per sign-in provider).
    A user appears once they have signed in; the owner cannot add themselves."""
    return await _again_on_conflict(
        session, album, lambda album_id, owner: _add_member(session, album_id, owner, email)
    )


async def _add_member(
    session: AsyncSession, album_id: uuid.UUID, owner_id: uuid.UUID, email: str
) -> list[tuple[AlbumMember, str | None]]:
    wanted = email.strip().casefold()
    found = (
        await session.execute(
            select(User.id, User.email).where(func.lower(User.email) == wanted, User.id != owner_id)
        )
    ).all()
    if not found:
        # A sentence the sharing form shows as it is, hence the capital.
        raise NotFound("No other user of this Salon signs in with that e-mail address")
    added: list[tuple[AlbumMember, str | None]] = []
    for user_id, user_email in found:
        member = await session.get(AlbumMember, (album_id, user_id))
        if member is None:
            member = AlbumMember(album_id=album_id, user_id=user_id)
            session.add(member)
        added.append((member, user_email))
    await session.commit()
    return added


async def remove_member(session: AsyncSession, album: Album, user_id: uuid.UUID) -> None:
    result: Any = await session.execute(
        delete(AlbumMember).where(AlbumMember.album_id == album.id, AlbumMember.user_id == user_id)
    )
    if result.rowcount == 0:
        raise NotFound("this album is not shared with that user")
    await session.commit()


async def leave(session: AsyncSession, album_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The member ``user_id`` stops seeing an album shared with them (404 when it is not)."""
    result: Any = await session.execute(
        delete(AlbumMember).where(AlbumMember.album_id == album_id, AlbumMember.user_id == user_id)
    )
    if result.rowcount == 0:
        raise NotFound("album not found")
    await session.commit()
