"""``/api/uploads``: direct-upload intents and their completion."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from salon.db.models import UploadIntent
from salon.domain.deps import CurrentUser, DbSession, RuntimeDep, UploadsDep, UploadSlotsDep
from salon.domain.images.receive import BodyLimits, stream_multipart_file
from salon.domain.images.schemas import UploadedImageOut, uploaded_out
from salon.domain.openapi import AUTHENTICATED, MEDIA_REFUSALS, UPLOAD_FILE_BODY, documented
from salon.domain.uploads.schemas import UploadIn, UploadOut
from salon.domain.uploads.services import UploadExpired, closed_upload


async def _until_expiry(
    intent: UploadIntent, request: Request[Any, Any, Any], limits: BodyLimits
) -> AsyncIterator[bytes]:
    """The file's bytes, straight from the body into storage; refused at the end (nothing
    kept) when the upload ran out while they arrived. Cleanup drops the intent then."""
    async for chunk in stream_multipart_file(request, limits):
        yield chunk
    if intent.expires_at <= dt.datetime.now(dt.UTC):
        raise UploadExpired("this upload expired while its file arrived; start again")


class UploadController(Controller):
    path = "/api/uploads"
    tags = ["uploads"]
    security = AUTHENTICATED

    @post(
        "/",
        operation_id="create_upload",
        status_code=HTTP_201_CREATED,
        operation_class=documented(responses=MEDIA_REFUSALS),  # 413 too large, 415 empty
    )
    async def create(
        self,
        data: JSONBody[UploadIn],
        db_session: DbSession,
        current_user: CurrentUser,
        upload_service: UploadsDep,
    ) -> UploadOut:
        return await upload_service.create(db_session, current_user.id, data)

    # Streams under receive_multipart's own limits, not the app's JSON one. No request-scoped
    # database session: a slow body must not hold a pooled connection (issue 17).
    @post(
        "/{upload_id:uuid}/file",
        operation_id="upload_file",
        status_code=HTTP_204_NO_CONTENT,
        request_max_body_size=None,
        operation_class=documented(body=UPLOAD_FILE_BODY),
    )
    async def upload_file(
        self,
        request: Request[Any, Any, Any],
        upload_id: FromPath[uuid.UUID],
        runtime: RuntimeDep,
        current_user: CurrentUser,
        upload_service: UploadsDep,
        upload_slots: UploadSlotsDep,
    ) -> None:
        """Where the browser sends the bytes when storage has no presigned POST."""
        async with runtime.session_maker() as session:
            intent = await upload_service.owned_intent(session, current_user.id, upload_id)
            await upload_service.refuse_if_expired(session, intent)
        if intent.status != "pending":
            raise closed_upload(intent.status)
        limits = BodyLimits.of(runtime.core, intent.size)
        with upload_slots.hold(current_user.id):
            await upload_service.receive_local(intent, _until_expiry(intent, request, limits))

    @post(
        "/{upload_id:uuid}/complete",
        operation_id="complete_upload",
        status_code=HTTP_201_CREATED,
        operation_class=documented(responses=MEDIA_REFUSALS),
    )
    async def complete(
        self,
        upload_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        upload_service: UploadsDep,
        upload_slots: UploadSlotsDep,
        wait: FromQuery[bool] = False,
    ) -> Response[UploadedImageOut]:
        """Turn the uploaded object into an image (``processing`` until its renditions exist;
        ``?wait=true`` answers once they do), as ``POST /api/images`` does: 200 and
        ``duplicate: true`` with the existing image when these bytes were uploaded before
        (bytes whose image failed get its 415 or 413 again).
        503 with ``Retry-After`` when no intake turn came for ``SALON_UPLOAD_INTAKE_WAIT``
        seconds (the upload stays as it was: complete it again)."""
        image, created = await upload_service.complete(
            db_session,
            current_user.id,
            upload_id,
            wait=wait,
            turn=upload_slots.turn(current_user.id),
        )
        status = HTTP_201_CREATED if created else 200
        return Response(uploaded_out(image, created), status_code=status)
