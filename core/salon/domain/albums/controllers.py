"""``/api/albums``: the owner's albums, and the albums other users shared with the caller
(``/api/albums/shared``: read-only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Album, User
from salon.domain.albums import services
from salon.domain.albums.schemas import (
    AlbumImagesIn,
    AlbumIn,
    AlbumOut,
    AlbumPatch,
    MemberIn,
    MemberOut,
)
from salon.domain.auth.throttle import sliding_reserve
from salon.domain.deps import CurrentUser, DbSession, RuntimeDep, ThrottleDep
from salon.domain.openapi import AUTHENTICATED, IMAGE_BYTES, RENDITION_PARAMETER, documented
from salon.domain.shares.controllers import serve_album_rendition
from salon.domain.shares.schemas import SharedAlbumOut
from salon.domain.shares.services import album_page

HOUR = 3600


async def _out(session: AsyncSession, album: Album) -> AlbumOut:
    count = await services.count_images(session, album.id)
    cover = await services.cover_id(session, album)
    return AlbumOut(str(album.id), album.name, album.created_at, count, cover)


class AlbumController(Controller):
    path = "/api/albums"
    tags = ["albums"]
    security = AUTHENTICATED

    @post("/", operation_id="create_album", status_code=HTTP_201_CREATED)
    async def create(
        self, data: JSONBody[AlbumIn], db_session: DbSession, current_user: CurrentUser
    ) -> AlbumOut:
        album = await services.create(db_session, current_user.id, data.name)
        return AlbumOut(str(album.id), album.name, album.created_at, 0)

    @get("/", operation_id="list_albums")
    async def list_albums(self, db_session: DbSession, current_user: CurrentUser) -> list[AlbumOut]:
        rows = await services.list_with_counts(db_session, current_user.id)
        return [
            AlbumOut(str(a.id), a.name, a.created_at, n, await services.cover_id(db_session, a))
            for a, n in rows
        ]

    @get("/{album_id:uuid}", operation_id="get_album")
    async def get_album(
        self, album_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> AlbumOut:
        album = await services.owned(db_session, current_user.id, album_id)
        return await _out(db_session, album)

    @patch("/{album_id:uuid}", operation_id="rename_album")
    async def rename(
        self,
        album_id: FromPath[uuid.UUID],
        data: JSONBody[AlbumPatch],
        db_session: DbSession,
        current_user: CurrentUser,
    ) -> AlbumOut:
        """Rename the album and/or choose its cover (``cover_image_id``: null for the newest)."""
        album = await services.owned(db_session, current_user.id, album_id)
        if data.cover_image_id is not msgspec.UNSET:
            await services.set_cover(db_session, album, data.cover_image_id)
        if isinstance(data.name, str):
            await services.rename(db_session, album, data.name)
        return await _out(db_session, album)

    @delete("/{album_id:uuid}", operation_id="delete_album", status_code=HTTP_204_NO_CONTENT)
    async def delete_album(
        self, album_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> None:
        """Delete the album (its photos stay in the library); its links and shares end."""
        album = await services.owned(db_session, current_user.id, album_id)
        await db_session.delete(album)
        await db_session.commit()

    @post("/{album_id:uuid}/images", operation_id="add_album_images", status_code=HTTP_200_OK)
    async def add_images(
        self,
        album_id: FromPath[uuid.UUID],
        data: JSONBody[AlbumImagesIn],
        db_session: DbSession,
        current_user: CurrentUser,
    ) -> AlbumOut:
        album = await services.owned(db_session, current_user.id, album_id)
        await services.add_images(db_session, album, data.image_ids)
        return await _out(db_session, album)

    @delete(
        "/{album_id:uuid}/images/{image_id:uuid}",
        operation_id="remove_album_image",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def remove_image(
        self,
        album_id: FromPath[uuid.UUID],
        image_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
    ) -> None:
        album = await services.owned(db_session, current_user.id, album_id)
        await services.remove_image(db_session, album, image_id)

    # ------------------------------------------------------------------ sharing with users

    @get("/{album_id:uuid}/members", operation_id="list_album_members")
    async def list_members(
        self, album_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> list[MemberOut]:
        """The users this album is shared with (read-only)."""
        album = await services.owned(db_session, current_user.id, album_id)
        rows = await services.members(db_session, album)
        return [MemberOut(str(m.user_id), email, m.added_at) for m, email in rows]

    @post("/{album_id:uuid}/members", operation_id="add_album_member", status_code=HTTP_201_CREATED)
    async def add_member(
        self,
        request: Request[Any, Any, Any],
        album_id: FromPath[uuid.UUID],
        data: JSONBody[MemberIn],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
        auth_throttle: ThrottleDep,
    ) -> list[MemberOut]:
        """Share the album, read-only, with the user who signs in with ``email`` (404 when no
        user of this Salon does). Each user may try ``SALON_MEMBER_ADD_LIMIT`` addresses an
        hour (then 429): the answer tells whether an address has an account."""
        album = await services.owned(db_session, current_user.id, album_id)
        await sliding_reserve(
            auth_throttle.counters,
            f"member-add:user:{current_user.id}",
            runtime.core.member_add_limit,
            HOUR,
            "attempts to share albums with users",
        )
        rows = await services.add_member(db_session, album, data.email)
        return [MemberOut(str(m.user_id), email, m.added_at) for m, email in rows]

    @delete(
        "/{album_id:uuid}/members/{user_id:uuid}",
        operation_id="remove_album_member",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def remove_member(
        self,
        album_id: FromPath[uuid.UUID],
        user_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
    ) -> None:
        """Unshare: the user no longer sees the album, at once. A member may remove
        themselves (leave an album shared with them)."""
        if user_id == current_user.id:
            await services.leave(db_session, album_id, user_id)
            return
        album = await services.owned(db_session, current_user.id, album_id)
        await services.remove_member(db_session, album, user_id)

    @get("/shared", operation_id="list_shared_albums")
    async def shared_albums(
        self, db_session: DbSession, current_user: CurrentUser
    ) -> list[AlbumOut]:
        """Albums other users shared with the caller (read-only)."""
        rows = await services.shared_with(db_session, current_user.id)
        out = []
        for album, email in rows:
            count = await services.count_images(db_session, album.id)
            cover = await services.cover_id(db_session, album)
            out.append(AlbumOut(str(album.id), album.name, album.created_at, count, cover, email))
        return out

    @get("/shared/{album_id:uuid}", operation_id="view_shared_album")
    async def shared_album(
        self,
        album_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        cursor: FromQuery[uuid.UUID | None] = None,
    ) -> SharedAlbumOut:
        """An album the caller owns or that was shared with them: one page of its photos with
        their title and date (``cursor`` for the next page)."""
        album = await services.viewable(db_session, current_user.id, album_id)
        prefix = f"/api/albums/shared/{album.id}/images"
        out = await album_page(
            db_session, album, prefix=prefix, shows=["title", "taken_at"], cursor=cursor
        )
        owner = await db_session.get(User, album.owner_id)
        out.owner_email = owner.email if owner else None
        return out

    @get(
        "/shared/{album_id:uuid}/images/{image_id:uuid}/renditions/{name:str}",
        operation_id="shared_album_rendition",
        operation_class=documented(responses=IMAGE_BYTES),
    )
    async def shared_rendition(
        self,
        request: Request[Any, Any, Any],
        album_id: FromPath[uuid.UUID],
        image_id: FromPath[uuid.UUID],
        name: Annotated[str, RENDITION_PARAMETER],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
    ) -> Response[Any]:
        """A rendition of a photo in an album shared with the caller, sent while it is."""
        album = await services.viewable(db_session, current_user.id, album_id)
        return await serve_album_rendition(request, runtime, db_session, album, image_id, name)
