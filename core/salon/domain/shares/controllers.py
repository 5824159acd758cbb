"""Share links: ``POST /api/images/{id}/share`` makes an expiring token; ``/s/{token}`` shows
that one image to whoever holds it, and nothing else. Only the token's hash is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Image, ShareLink, User
from salon.domain.images.schemas import ImageOut, image_out
from salon.domain.images.services import NotFound, get_owned, rendition_entry
from salon.domain.images.serving import serve_object
from salon.proxies import public_base_url
from salon.runtime import Runtime


class ShareIn(msgspec.Struct, forbid_unknown_fields=True):
    expires_in: Annotated[int, msgspec.Meta(ge=60, le=90 * 24 * 3600)] | None = None


class ShareOut(msgspec.Struct):
    token: str
    url: str
    expires_at: dt.datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def shared_image(session: AsyncSession, token: str) -> Image:
    query = select(ShareLink).where(ShareLink.token_hash == _hash(token))
    link = (await session.execute(query)).scalar_one_or_none()
    if link is None or link.expires_at <= dt.datetime.now(dt.UTC):
        raise NotFound("share link not found or expired")
    image = await session.get(Image, link.image_id)
    if image is None:
        raise NotFound("share link not found or expired")
    return image


class ShareController(Controller):
    tags = ["shares"]

    @post(
        "/api/images/{image_id:uuid}/share",
        operation_id="share_image",
        status_code=HTTP_201_CREATED,
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        image_id: uuid.UUID,
        db_session: AsyncSession,
        current_user: User,
        runtime: Runtime,
        data: ShareIn | None = None,
    ) -> ShareOut:
        image = await get_owned(db_session, current_user.id, image_id)
        ttl = (data.expires_in if data else None) or runtime.core.share_link_ttl
        token = secrets.token_urlsafe(24)
        expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl)
        db_session.add(
            ShareLink(
                token_hash=_hash(token),
                image_id=image.id,
                owner_id=current_user.id,
                expires_at=expires_at,
            )
        )
        await db_session.commit()
        base = public_base_url(request, runtime.core.public_url)
        return ShareOut(token, f"{base}/s/{token}", expires_at)

    @get("/s/{token:str}", operation_id="view_share", media_type="application/json")
    async def view(
        self, token: Annotated[str, Parameter(max_length=100)], db_session: AsyncSession
    ) -> ImageOut:
        image = await shared_image(db_session, token)
        out = image_out(image, base="/s")
        # Links on a shared image lead to the share routes, never to the owner's API.
        # The original keeps its EXIF (GPS included), so a share link offers renditions only.
        prefix = f"/s/{token}"
        out.urls.renditions = {name: f"{prefix}/renditions/{name}" for name in out.urls.renditions}
        out.urls.original = out.urls.renditions.get("lg", "")
        out.metadata = {}
        return out

    @get("/s/{token:str}/renditions/{name:str}", operation_id="shared_rendition")
    async def rendition(
        self,
        request: Request[Any, Any, Any],
        token: str,
        name: str,
        db_session: AsyncSession,
        runtime: Runtime,
    ) -> Response[Any]:
        image = await shared_image(db_session, token)
        entry = rendition_entry(image, name)
        return await serve_object(
            request,
            runtime,
            key=entry["key"],
            content_type=entry["content_type"],
            etag=f"{image.sha256}-{name}",
        )
