"""``/api/uploads``: direct-upload intents and their completion."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import User
from salon.domain.images.receive import receive_multipart
from salon.domain.images.schemas import ImageOut, image_out
from salon.domain.images.services import tmp_dir
from salon.domain.uploads.schemas import UploadIn, UploadOut
from salon.domain.uploads.services import UploadRefused, UploadService
from salon.runtime import Runtime


def _service(request: Request[Any, Any, Any]) -> UploadService:
    service: UploadService = request.app.state.uploads
    return service


class UploadController(Controller):
    path = "/api/uploads"
    tags = ["uploads"]

    @post("/", operation_id="create_upload", status_code=HTTP_201_CREATED)
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: UploadIn,
        db_session: AsyncSession,
        current_user: User,
    ) -> UploadOut:
        return await _service(request).create(db_session, current_user.id, data)

    @post("/{upload_id:uuid}/file", operation_id="upload_file", status_code=HTTP_204_NO_CONTENT)
    async def upload_file(
        self,
        request: Request[Any, Any, Any],
        upload_id: uuid.UUID,
        runtime: Runtime,
        db_session: AsyncSession,
        current_user: User,
    ) -> None:
        """Where the browser sends the bytes when storage has no presigned POST."""
        service = _service(request)
        intent = await service.owned_intent(db_session, current_user.id, upload_id)
        if intent.status != "pending":
            raise UploadRefused(f"this upload is {intent.status}")
        form = await receive_multipart(request, tmp_dir(runtime), intent.size)
        try:
            if form.file is None:
                raise ClientException("the form has no 'file' part")
            await service.receive_local(intent, form.file.path)
        finally:
            form.discard()

    @post(
        "/{upload_id:uuid}/complete", operation_id="complete_upload", status_code=HTTP_201_CREATED
    )
    async def complete(
        self,
        request: Request[Any, Any, Any],
        upload_id: uuid.UUID,
        db_session: AsyncSession,
        current_user: User,
    ) -> Response[ImageOut]:
        image, created = await _service(request).complete(db_session, current_user.id, upload_id)
        return Response(image_out(image), status_code=HTTP_201_CREATED if created else 200)
