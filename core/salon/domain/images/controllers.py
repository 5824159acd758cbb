"""``/api/images``: upload, list, read, change, delete, download, favorite."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Controller, MediaType, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ClientException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Image, User
from salon.domain.deps import (
    CurrentUser,
    DbSession,
    ImagePagesDep,
    ImagesDep,
    RuntimeDep,
    UploadSlotsDep,
)
from salon.domain.images.intake import LocalFile
from salon.domain.images.receive import BodyLimits, ReceivedForm, receive_multipart
from salon.domain.images.schemas import (
    BULK_ACTIONS,
    MAX_TITLE,
    BulkAction,
    BulkResult,
    ImageOut,
    ImagePage,
    ImagePatch,
    MonthsOut,
    UploadedImageOut,
    image_out,
    uploaded_out,
)
from salon.domain.images.search import MAX_QUERY, ImageSearch, SearchError, parse_search
from salon.domain.images.services import (
    BadDate,
    ImageService,
    IngestItem,
    IntakeTurn,
    NotFound,
    Shown,
    clean_description,
    clean_title,
    download_name,
    get_owned,
    rendition_entry,
    set_taken_at,
    shift_taken_at,
    tmp_dir,
)
from salon.domain.images.serving import serve_object
from salon.domain.openapi import (
    AUTHENTICATED,
    IMAGE_BYTES,
    IMAGE_UPLOAD_BODY,
    MEDIA_REFUSALS,
    RENDITION_PARAMETER,
    documented,
)
from salon.errors import UnsupportedMedia

Q_DOC = (
    "Words to find in the title, description, original file name, camera, source (APOD title "
    "and explanation) and album names; every word must match, the last also as a prefix. "
    f"Punctuation separates words and is never query syntax. At most {MAX_QUERY} characters."
)
FROM_DOC = (
    "Taken on or after (upload time when the date taken is unknown): YYYY, YYYY-MM, "
    "YYYY-MM-DD (UTC) or an ISO 8601 time with its offset."
)
ORDER_DOC = (
    "uploaded (default): newest upload first. taken: the timeline, newest date taken first "
    "(upload time when unknown); its cursors work only with order=taken, and "
    "GET /api/images/months gives one per month to jump to."
)
TO_DOC = (
    "Taken on or before, same forms; a year, month or day includes all of it, so "
    "taken_from=2024-03&taken_to=2024-03 is March 2024."
)


def _dated(change: Any, image: Any, value: Any) -> None:
    try:
        change(image, value)
    except BadDate as exc:
        raise ClientException(str(exc)) from None


@dataclass(frozen=True, slots=True)
class Filters:
    """The query parameters the image listings share (the page and its months)."""

    album_id: uuid.UUID | None
    favorite: bool | None
    trashed: bool
    search: ImageSearch | None

    def of(self, user: User) -> Shown:
        return Shown(user.id, self.album_id, self.favorite, self.trashed, self.search)


async def provide_filters(
    # Unused, but it orders the dependencies: Litestar resolves dependencies of one level in
    # a task group (two tasks per request, a tenth of a cached listing's CPU); after the user
    # they resolve one by one. The guard has authenticated already, so nothing waits for it.
    current_user: CurrentUser,
    album_id: FromQuery[uuid.UUID | None] = None,
    favorite: FromQuery[bool | None] = None,
    trashed: FromQuery[bool] = False,
    q: Annotated[str | None, Parameter(description=Q_DOC)] = None,
    taken_from: Annotated[str | None, Parameter(description=FROM_DOC)] = None,
    taken_to: Annotated[str | None, Parameter(description=TO_DOC)] = None,
) -> Filters:
    try:
        search = parse_search(q, taken_from, taken_to)
    except SearchError as exc:
        raise ClientException(str(exc)) from None
    return Filters(album_id, favorite, trashed, search)


def parse_uuid(value: str | None, name: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ClientException(f"{name} must be a UUID") from None


class ImageController(Controller):
    path = "/api/images"
    tags = ["images"]
    security = AUTHENTICATED

    # The body streams to a file under receive_multipart's own limits, not the app's JSON one.
    @post(
        "/",
        operation_id="upload_image",
        status_code=HTTP_201_CREATED,
        request_max_body_size=None,
        operation_class=documented(body=IMAGE_UPLOAD_BODY, responses=MEDIA_REFUSALS),
        responses={
            200: ResponseSpec(UploadedImageOut, description="The same bytes were uploaded before")
        },
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        runtime: RuntimeDep,
        current_user: CurrentUser,
        image_service: ImagesDep,
        upload_slots: UploadSlotsDep,
        wait: FromQuery[bool] = False,
    ) -> Response[UploadedImageOut]:
        """Upload one image as multipart/form-data: ``file``, optional ``title``, ``album_id``.

        Answers once the original is stored: 201 with the new image, ``status: "processing"``
        and no renditions yet (read the image again for them), or 200 with the existing one
        when you uploaded these bytes before (``duplicate: true``; bytes whose image failed get
        its 415 or 413 again). ``?wait=true`` answers once the renditions exist.
        503 with ``Retry-After`` when too many images are waiting for their renditions (the
        server's backlog, or your share of it: ``SALON_MEDIA_QUEUE_PER_USER``) for 20 s, or
        when no intake turn came for ``SALON_UPLOAD_INTAKE_WAIT`` seconds."""
        limits = BodyLimits.of(runtime.core, runtime.core.max_upload_bytes)
        with upload_slots.hold(current_user.id):
            # Before the body is read, not after; a wait for the user's share holds a slot.
            await image_service.renditions.check_room(current_user.id)
            form = await receive_multipart(request, tmp_dir(runtime), limits)
            turn = upload_slots.turn(current_user.id)
            return await _ingest(image_service, current_user, form, wait, turn)

    # The token check, the user and the page read through one session (salon.db.reads).
    @get(
        "/",
        operation_id="list_images",
        opt={"shared_reads": True},
        dependencies={"filters": Provide(provide_filters)},
        responses={200: ResponseSpec(data_container=ImagePage, description="A page of images")},
    )
    async def list_images(
        self,
        current_user: CurrentUser,
        filters: NamedDependency[Filters],
        image_pages: ImagePagesDep,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: FromQuery[str | None] = None,
        order: Annotated[Literal["uploaded", "taken"], Parameter(description=ORDER_DOC)] = (
            "uploaded"
        ),
    ) -> Response[bytes]:
        """Newest first, ``limit`` per page; pass ``next_cursor`` back as ``cursor``.
        Images in the trash are left out; ``trashed=true`` lists only those. ``q`` searches
        words, ``taken_from``/``taken_to`` a date range, ``favorite=true`` favorites; they
        combine with each other, with ``album_id`` and with ``order``, and pages follow the
        same cursor. ``order=taken`` is the timeline: by date taken, else upload time."""
        shown = filters.of(current_user)
        body = await image_pages.page_json(shown, limit=limit, cursor=cursor, order=order)
        return Response(body, media_type=MediaType.JSON)

    @get(
        "/months",
        operation_id="list_image_months",
        dependencies={"filters": Provide(provide_filters)},
        responses={200: ResponseSpec(data_container=MonthsOut, description="Months, newest first")},
    )
    async def months(
        self,
        current_user: CurrentUser,
        filters: NamedDependency[Filters],
        image_pages: ImagePagesDep,
    ) -> Response[bytes]:
        """The timeline's months: for each month (UTC) holding any of the images the same
        filters list, its ``count`` and a ``cursor`` for ``GET /api/images?order=taken``
        whose page starts with that month's newest photo (jump to a month); ``total`` is
        their sum. Months without photos are left out."""
        body = await image_pages.months_json(filters.of(current_user))
        return Response(body, media_type=MediaType.JSON)

    @post("/bulk", operation_id="bulk_images", status_code=HTTP_200_OK)
    async def bulk(
        self,
        data: JSONBody[BulkAction],
        db_session: DbSession,
        current_user: CurrentUser,
        image_service: ImagesDep,
    ) -> BulkResult:
        """One ``action`` on up to 1000 of your images: ``trash``, ``restore``, ``delete``
        (for good, at once), ``favorite``, ``unfavorite``, ``set_taken_at`` (to ``taken_at``)
        or ``shift_taken_at`` (by ``shift_seconds``). An id that is not yours is a 404 and
        nothing changes."""
        if data.action not in BULK_ACTIONS:
            raise ClientException(f"action must be one of {', '.join(BULK_ACTIONS)}")
        if data.action == "set_taken_at" and data.taken_at is None:
            raise ClientException("set_taken_at needs taken_at")
        if data.action == "shift_taken_at" and data.shift_seconds is None:
            raise ClientException("shift_taken_at needs shift_seconds")
        wanted = {parse_uuid(value, "image_ids") for value in data.image_ids}
        ids = [value for value in wanted if value is not None]
        if not ids:
            raise ClientException("image_ids must not be empty")
        if len(ids) > 1000:
            raise ClientException("at most 1000 images per request")
        query = select(Image).where(Image.owner_id == current_user.id, Image.id.in_(ids))
        chosen = list((await db_session.execute(query)).scalars())
        if len(chosen) != len(ids):
            raise NotFound("image not found")
        if data.action in ("trash", "delete"):
            await image_service.trash(db_session, chosen, permanent=data.action == "delete")
        elif data.action in ("set_taken_at", "shift_taken_at"):
            for image in chosen:
                if data.taken_at is not None and data.action == "set_taken_at":
                    _dated(set_taken_at, image, data.taken_at)
                elif data.shift_seconds is not None:
                    _dated(shift_taken_at, image, data.shift_seconds)
            await db_session.commit()
        else:
            for image in chosen:
                if data.action == "restore":
                    image.trashed_at = None
                else:
                    image.favorite = data.action == "favorite"
            await db_session.commit()
        return BulkResult(action=data.action, count=len(chosen))

    @delete("/trash", operation_id="empty_trash", status_code=HTTP_200_OK)
    async def empty_trash(self, current_user: CurrentUser, image_service: ImagesDep) -> BulkResult:
        """Delete every image in your trash for good, with its stored files."""
        count = await image_service.purge_trash(owner_id=current_user.id)
        return BulkResult(action="empty_trash", count=count)

    @post("/{image_id:uuid}/restore", operation_id="restore_image", status_code=HTTP_200_OK)
    async def restore(
        self, image_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> ImageOut:
        """Take an image out of the trash."""
        image = await get_owned(db_session, current_user.id, image_id)
        image.trashed_at = None
        await db_session.commit()
        return image_out(image)

    @get("/{image_id:uuid}", operation_id="get_image")
    async def get_image(
        self, image_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> ImageOut:
        return image_out(await get_owned(db_session, current_user.id, image_id))

    @patch("/{image_id:uuid}", operation_id="update_image")
    async def update_image(
        self,
        image_id: FromPath[uuid.UUID],
        data: JSONBody[ImagePatch],
        db_session: DbSession,
        current_user: CurrentUser,
    ) -> ImageOut:
        image = await get_owned(db_session, current_user.id, image_id)
        if data.taken_at is not None:
            _dated(set_taken_at, image, data.taken_at)
        if data.title is not None:
            image.title = clean_title(data.title)
        if data.favorite is not None:
            image.favorite = data.favorite
        if data.description is not None:
            meta = {k: v for k, v in (image.meta or {}).items() if k != "description"}
            if text := clean_description(data.description):
                meta["description"] = text
            image.meta = meta
        await db_session.commit()
        return image_out(image)

    @delete("/{image_id:uuid}", operation_id="delete_image", status_code=HTTP_204_NO_CONTENT)
    async def delete_image(
        self,
        image_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        image_service: ImagesDep,
        permanent: FromQuery[bool] = False,
    ) -> None:
        """Move the image to the trash: it leaves listings, albums, favorites and share links
        at once and is deleted for good ``SALON_TRASH_DAYS`` later (restore it with
        ``POST .../restore``). ``?permanent=true`` deletes it and its files now."""
        image = await get_owned(db_session, current_user.id, image_id)
        await image_service.trash(db_session, [image], permanent=permanent)

    @get(
        "/{image_id:uuid}/original",
        operation_id="download_original",
        operation_class=documented(responses=IMAGE_BYTES),
    )
    async def original(
        self,
        request: Request[Any, Any, Any],
        image_id: FromPath[uuid.UUID],
        runtime: RuntimeDep,
        db_session: DbSession,
        current_user: CurrentUser,
    ) -> Response[Any]:
        """The uploaded bytes, saved under the file's original name."""
        image = await get_owned(db_session, current_user.id, image_id)
        return await serve_object(
            request,
            runtime,
            key=image.storage_key,
            content_type=image.content_type,
            etag=image.sha256,
            filename=download_name(image),
        )

    @get(
        "/{image_id:uuid}/renditions/{name:str}",
        operation_id="download_rendition",
        operation_class=documented(responses=IMAGE_BYTES),
    )
    async def rendition(
        self,
        request: Request[Any, Any, Any],
        image_id: FromPath[uuid.UUID],
        name: Annotated[str, RENDITION_PARAMETER],
        runtime: RuntimeDep,
        db_session: DbSession,
        current_user: CurrentUser,
    ) -> Response[Any]:
        image = await get_owned(db_session, current_user.id, image_id)
        entry = rendition_entry(image, name, runtime.renditions)
        return await serve_object(
            request,
            runtime,
            key=entry["key"],
            content_type=entry["content_type"],
            etag=f"{image.sha256}-{name}",
        )

    @put("/{image_id:uuid}/favorite", operation_id="favorite_image", status_code=HTTP_200_OK)
    async def favorite(
        self, image_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> ImageOut:
        return await _set_favorite(db_session, current_user, image_id, True)

    @delete("/{image_id:uuid}/favorite", operation_id="unfavorite_image", status_code=HTTP_200_OK)
    async def unfavorite(
        self, image_id: FromPath[uuid.UUID], db_session: DbSession, current_user: CurrentUser
    ) -> ImageOut:
        return await _set_favorite(db_session, current_user, image_id, False)


async def _set_favorite(
    session: AsyncSession, user: User, image_id: uuid.UUID, value: bool
) -> ImageOut:
    image = await get_owned(session, user.id, image_id)
    image.favorite = value
    await session.commit()
    return image_out(image)


def _given_title(fields: dict[str, str]) -> str:
    """The form's title, refused over MAX_TITLE characters as the OpenAPI document and the
    direct upload's JSON say (it was cut without a word; outside attacker, s29). A title made
    from a long file name is still cut: nobody typed it."""
    title = fields.get("title", "")
    if len(title) > MAX_TITLE:
        raise ClientException(f"title is {len(title)} characters long; at most {MAX_TITLE}")
    return title


async def _ingest(
    images: ImageService,
    current_user: User,
    form: ReceivedForm,
    wait: bool,
    turn: IntakeTurn,
) -> Response[UploadedImageOut]:
    try:
        if form.file is None:
            raise ClientException("the form has no 'file' part")
        if form.file.size == 0:
            raise UnsupportedMedia("the file is empty", "empty")
        received = form.file
        image, created = await images.ingest_from(
            LocalFile(received.path, received.sha256, received.size, disposable=True),
            IngestItem(
                owner_id=current_user.id,
                claimed_type=received.content_type,
                title=_given_title(form.fields),
                album_id=parse_uuid(form.fields.get("album_id"), "album_id"),
                filename=received.filename,
            ),
            wait=wait,
            refuse_when_busy=True,
            turn=turn,
        )
    finally:
        form.discard()
    status = HTTP_201_CREATED if created else HTTP_200_OK
    return Response(uploaded_out(image, created), status_code=status)
