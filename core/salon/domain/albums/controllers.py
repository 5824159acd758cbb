"""``/api/albums``."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import User
from salon.domain.albums import services
from salon.domain.albums.schemas import AlbumImagesIn, AlbumIn, AlbumOut
from salon.domain.openapi import AUTHENTICATED


class AlbumController(Controller):
    path = "/api/albums"
    tags = ["albums"]
    security = AUTHENTICATED

    @post("/", operation_id="create_album", status_code=HTTP_201_CREATED)
    async def create(self, data: AlbumIn, db_session: AsyncSession, current_user: User) -> AlbumOut:
        album = await services.create(db_session, current_user.id, data.name)
        return AlbumOut(str(album.id), album.name, album.created_at, 0)

    @get("/", operation_id="list_albums")
    async def list_albums(self, db_session: AsyncSession, current_user: User) -> list[AlbumOut]:
        rows = await services.list_with_counts(db_session, current_user.id)
        return [AlbumOut(str(a.id), a.name, a.created_at, n) for a, n in rows]

    @get("/{album_id:uuid}", operation_id="get_album")
    async def get_album(
        self, album_id: uuid.UUID, db_session: AsyncSession, current_user: User
    ) -> AlbumOut:
        album = await services.owned(db_session, current_user.id, album_id)
        count = await services.count_images(db_session, album.id)
        return AlbumOut(str(album.id), album.name, album.created_at, count)

    @patch("/{album_id:uuid}", operation_id="rename_album")
    async def rename(
        self, album_id: uuid.UUID, data: AlbumIn, db_session: AsyncSession, current_user: User
    ) -> AlbumOut:
        album = await services.owned(db_session, current_user.id, album_id)
        await services.rename(db_session, album, data.name)
        count = await services.count_images(db_session, album.id)
        return AlbumOut(str(album.id), album.name, album.created_at, count)

    @delete("/{album_id:uuid}", operation_id="delete_album", status_code=HTTP_204_NO_CONTENT)
    async def delete_album(
        self, album_id: uuid.UUID, db_session: AsyncSession, current_user: User
    ) -> None:
        album = await services.owned(db_session, current_user.id, album_id)
        await db_session.delete(album)
        await db_session.commit()

    @post("/{album_id:uuid}/images", operation_id="add_album_images", status_code=HTTP_200_OK)
    async def add_images(
        self,
        album_id: uuid.UUID,
        data: AlbumImagesIn,
        db_session: AsyncSession,
        current_user: User,
    ) -> AlbumOut:
        album = await services.owned(db_session, current_user.id, album_id)
        await services.add_images(db_session, album, data.image_ids)
        count = await services.count_images(db_session, album.id)
        return AlbumOut(str(album.id), album.name, album.created_at, count)

    @delete(
        "/{album_id:uuid}/images/{image_id:uuid}",
        operation_id="remove_album_image",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def remove_image(
        self,
        album_id: uuid.UUID,
        image_id: uuid.UUID,
        db_session: AsyncSession,
        current_user: User,
    ) -> None:
        album = await services.owned(db_session, current_user.id, album_id)
        await services.remove_image(db_session, album, image_id)
