"""``/api/videos``: make a slideshow video from the caller's photos, list, read, play and
delete them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import ClientException, HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT, HTTP_409_CONFLICT

from salon.domain.deps import CurrentUser, DbSession, RuntimeDep
from salon.domain.openapi import AUTHENTICATED, VIDEO_BYTES, documented
from salon.domain.videos.schemas import VideoCreate, VideoCreated, VideoOut, VideoPage, video_out
from salon.domain.videos.services import (
    VideoBusy,
    VideoNotFound,
    VideoTooLarge,
    create_video,
    delete_video,
    get_video,
    list_videos,
    video_url,
)
from salon.domain.videos.serving import serve_range


class VideoController(Controller):
    path = "/api/videos"
    tags = ["videos"]
    security = AUTHENTICATED

    @post("/", operation_id="create_video", status_code=HTTP_202_ACCEPTED)
    async def create(
        self,
        data: JSONBody[VideoCreate],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
    ) -> VideoCreated:
        """Queue a slideshow of the caller's images; follow the job at ``/api/jobs/{job_id}``."""
        with _not_found():
            video, job = await create_video(db_session, runtime, current_user.id, data)
        return VideoCreated(video_id=str(video.id), job_id=str(job.id))

    @get("/", operation_id="list_videos")
    async def list_all(
        self,
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
        cursor: FromQuery[str | None] = None,
    ) -> VideoPage:
        """Your videos, newest first, ``limit`` per page; pass ``next_cursor`` back as
        ``cursor``. Each finished one has a ``url`` that plays it (presigned on S3)."""
        states, next_cursor = await list_videos(
            db_session, current_user.id, limit=limit, cursor=cursor
        )
        items = [video_out(s.video, await video_url(runtime, s.video), s.error) for s in states]
        return VideoPage(items, next_cursor)

    @delete("/{video_id:uuid}", operation_id="delete_video", status_code=HTTP_204_NO_CONTENT)
    async def remove(
        self,
        video_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
    ) -> None:
        """Delete a video and its stored MP4. A queued video is cancelled; one being made
        answers 409 (delete it once it has finished)."""
        with _not_found():
            await delete_video(db_session, runtime, current_user.id, video_id)

    @get("/{video_id:uuid}", operation_id="get_video")
    async def read(
        self,
        video_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
    ) -> VideoOut:
        """A video's status (its job's) and, once made, a URL that plays it."""
        with _not_found():
            state = await get_video(db_session, current_user.id, video_id)
        return video_out(state.video, await video_url(runtime, state.video), state.error)

    @get(
        "/{video_id:uuid}/file",
        operation_id="download_video",
        operation_class=documented(responses=VIDEO_BYTES),
    )
    async def download(
        self,
        request: Request[Any, Any, Any],
        video_id: FromPath[uuid.UUID],
        db_session: DbSession,
        current_user: CurrentUser,
        runtime: RuntimeDep,
    ) -> Response[Any]:
        """The MP4, with Range support so players can seek. 404 until the video is made."""
        with _not_found():
            video = (await get_video(db_session, current_user.id, video_id)).video
        if video.status != "succeeded" or not video.storage_key:
            raise NotFoundException("the video is not ready")
        return await serve_range(
            request,
            runtime.storage,
            key=video.storage_key,
            content_type="video/mp4",
            etag=f"{video.id}-{video.size}",
            filename=f"{video.id}.mp4",
        )


@contextmanager
def _not_found() -> Iterator[None]:
    """Turn the service's VideoNotFound into a 404, VideoTooLarge into a 400 and VideoBusy
    into a 409, each with its message."""
    try:
        yield
    except VideoNotFound as exc:
        raise NotFoundException(str(exc)) from None
    except VideoTooLarge as exc:
        raise ClientException(str(exc)) from None
    except VideoBusy as exc:
        raise HTTPException(status_code=HTTP_409_CONFLICT, detail=str(exc)) from None
