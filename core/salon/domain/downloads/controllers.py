"""``GET /api/albums/{id}/download`` and ``POST /api/images/download``: ZIP archives of an
album or a selection, streamed (see :mod:`salon.domain.downloads.services`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_200_OK

from salon.db.models import Image
from salon.domain.albums import services as albums
from salon.domain.deps import READS_ONLY, CurrentUser, DbSession, RuntimeDep
from salon.domain.downloads import services
from salon.domain.downloads.schemas import DownloadIn
from salon.domain.images.serving import content_disposition
from salon.domain.openapi import AUTHENTICATED, bytes_response, documented
from salon.runtime import Runtime

ZIP_RESPONSE = {
    "200": bytes_response("application/zip", "A ZIP archive, streamed (no Content-Length).")
}


def _zip(runtime: Runtime, images: list[Image], kind: services.Kind, title: str) -> Stream:
    headers = {
        "content-disposition": content_disposition(services.archive_name(title), "attachment"),
        "cache-control": "private, no-store",
        "x-content-type-options": "nosniff",
    }
    return Stream(
        services.stream_archive(runtime.storage, images, kind),
        media_type="application/zip",
        headers=headers,
    )


class DownloadController(Controller):
    tags = ["downloads"]
    security = AUTHENTICATED

    @get(
        "/api/albums/{album_id:uuid}/download",
        operation_id="download_album",
        operation_class=documented(responses=ZIP_RESPONSE),
    )
    async def album(
        self,
        album_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
        kind: Annotated[
            Literal["original", "lg"] | None,
            Parameter(description="original files or lg renditions (default: what you may have)"),
        ] = None,
    ) -> Stream:
        """The album as a ZIP of its photos under their original file names: the originals for
        its owner; for a user it is shared with (read-only), the large renditions (``lg``), as
        the shared view offers: originals keep their EXIF, GPS included, so they stay with
        the owner (``kind=original`` from a member: 403). Anyone else: 404."""
        album = await albums.viewable(db_session, current_user.id, album_id)
        owner = album.owner_id == current_user.id
        if kind == "original" and not owner:
            raise PermissionDeniedException(
                "a shared album downloads as its large renditions (kind=lg): "
                "the originals stay with its owner"
            )
        images = await services.album_images(db_session, album)
        return _zip(runtime, images, kind or ("original" if owner else "lg"), album.name)

    @post(
        "/api/images/download",
        operation_id="download_images",
        status_code=HTTP_200_OK,
        opt={READS_ONLY: True},  # a read-only API key may download
        operation_class=documented(responses=ZIP_RESPONSE),
    )
    async def selection(
        self,
        data: JSONBody[DownloadIn],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
    ) -> Stream:
        """A ZIP of the caller's images named in ``image_ids`` (up to 1000; one that is not
        theirs: 404 and nothing is sent)."""
        images = await services.selected_images(db_session, current_user.id, data.image_ids)
        title = f"Salon photos {dt.datetime.now(dt.UTC):%Y-%m-%d}"
        return _zip(runtime, images, data.kind, title)
