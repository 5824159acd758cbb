"""Videos: validate a request, record the video and its job; read a video back, finalizing the
row from the job's result once the job succeeded."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils import uuid7

from salon.db.models import Image, Job, Video
from salon.domain.images.cursor import decode_cursor, encode_cursor
from salon.domain.images.quota import QuotaExceeded, used_bytes
from salon.domain.jobs.services import CANCELLED, fail_job, job_admission, queue_job
from salon.domain.ports import VideoPorts
from salon.domain.videos.schemas import VideoCreate

log = logging.getLogger("salon.videos")

__all__ = [
    "JOB_KIND",
    "VideoBusy",
    "VideoNotFound",
    "VideoState",
    "VideoTooLarge",
    "create_video",
    "delete_video",
    "get_video",
    "input_key",
    "list_videos",
    "output_key",
    "video_url",
]

JOB_KIND = "video"
# Short-lived: the player asks for a fresh URL each time it reads the video.
FILE_ROUTE = "/api/videos/{id}/file"


class VideoNotFound(LookupError):
    """A video or image that does not exist or is not the caller's (both answer 404)."""


class VideoBusy(RuntimeError):
    """A video whose job is running: deleting it now would leave the MP4 the job is about to
    store behind (answers 409)."""


class VideoTooLarge(ValueError):
    """A request beyond the configured length or frame size (answers 400 with the message)."""


def check_limits(
    data: VideoCreate, *, max_seconds: int, max_pixels: int, max_total_pixels: int | None = None
) -> None:
    """Refuse a video longer than ``max_seconds`` or larger than ``max_pixels`` per frame,
    before anything is looked up or recorded: the render costs about length x frame size."""
    slides = len(data.image_ids) + (1 if data.title else 0)
    seconds = slides * data.seconds_per_image
    if seconds > max_seconds:
        raise VideoTooLarge(
            f"the video would last {seconds:g} s ({slides} slides x {data.seconds_per_image:g} s);"
            f" the limit is {max_seconds} s"
        )
    pixels = data.width * data.height
    if pixels > max_pixels:
        raise VideoTooLarge(
            f"a {data.width}x{data.height} frame has {pixels} pixels; the limit is {max_pixels}"
        )
    if max_total_pixels is not None and slides * pixels > max_total_pixels:
        most = max(1, max_total_pixels // pixels)
        raise VideoTooLarge(
            f"{slides} slides of {data.width}x{data.height} is too much work for one video:"
            f" at this size at most {most} slides (slides x frame pixels <= {max_total_pixels})"
        )


@dataclass(frozen=True, slots=True)
class VideoState:
    """A video as read: the row (finalized when its job succeeded) and the job's error."""

    video: Video
    error: str | None


def output_key(owner_id: uuid.UUID, video_id: uuid.UUID) -> str:
    """Where the MP4 is stored; the same on every attempt, which makes the job idempotent."""
    return f"videos/{owner_id}/{video_id}.mp4"


def input_key(image: Image) -> str:
    """The best source for a 720p-ish video: the ``lg`` rendition (already oriented, about
    2048 px, so decoding is cheap) when there is one, else the original."""
    lg = (image.renditions or {}).get("lg")
    if isinstance(lg, dict) and lg.get("key"):
        return str(lg["key"])
    return image.storage_key


async def _owned_images(
    session: AsyncSession, owner_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Image]:
    wanted = set(image_ids)
    rows = await session.scalars(
        select(Image).where(Image.owner_id == owner_id, Image.id.in_(wanted))
    )
    found = {image.id: image for image in rows}
    missing = [str(i) for i in image_ids if i not in found]
    if missing:
        # Someone else's image answers exactly like a missing one.
        shown = ", ".join(dict.fromkeys(missing[:5]))
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise VideoNotFound(f"images not found: {shown}{more}")
    return found


async def _check_room(session: AsyncSession, owner_id: uuid.UUID, quota: int) -> None:
    """A video is stored under its owner's quota: refused (413) while the account is full. Its
    size is known only once made, so the one that fills the quota is let through."""
    if quota <= 0:
        return
    await _settle(session, owner_id)
    used = await used_bytes(session, owner_id)
    if used >= quota:
        raise QuotaExceeded(
            f"storage quota exceeded: your photos and videos use {used} of {quota} bytes; "
            "delete some before making a video"
        )


async def _settle(session: AsyncSession, owner_id: uuid.UUID) -> None:
    """Record the owner's videos whose jobs finished since they were last read: a video's size
    is stored when it is read, and a client that never reads its videos must not make them
    past the quota (attack report 4)."""
    unsettled = await session.execute(
        select(Video, Job)
        .outerjoin(Job, Job.id == Video.job_id)
        .where(Video.owner_id == owner_id, Video.status.not_in(("succeeded", "failed")))
    )
    for video, job in unsettled.all():
        await _follow_job(session, video, job)


async def create_video(
    session: AsyncSession, runtime: VideoPorts, owner_id: uuid.UUID, data: VideoCreate
) -> tuple[Video, Job]:
    """Check the limits and that every image is the caller's, then record the job (enqueued)
    and the video.

    The job is created first so the video row can point at it; the handler only needs the
    payload, so a worker that starts before the video row is committed still does the right
    work, and ``get_video`` finalizes the row whenever it is read.
    """
    core = runtime.core
    check_limits(
        data,
        max_seconds=core.video_max_seconds,
        max_pixels=core.video_max_pixels,
        max_total_pixels=core.video_max_total_pixels,
    )
    images = await _owned_images(session, owner_id, data.image_ids)
    inputs = [input_key(images[i]) for i in data.image_ids]
    await _check_room(session, owner_id, core.storage_quota_bytes)
    # End the read before the limit check and the job take connections of their own: requests
    # that each hold one while waiting for another stall every request once the pool is full.
    await session.commit()
    video_id = uuid.UUID(str(uuid7()))
    params: dict[str, Any] = {
        "image_ids": [str(i) for i in data.image_ids],
        "seconds_per_image": data.seconds_per_image,
        "transition": data.transition,
        "width": data.width,
        "height": data.height,
        "title": data.title,
    }
    payload = {
        "video_id": str(video_id),
        "inputs": inputs,
        "seconds_per_image": data.seconds_per_image,
        "transition": data.transition,
        "width": data.width,
        "height": data.height,
        "title": data.title,
        "output_key": output_key(owner_id, video_id),
    }
    async with job_admission(runtime.session_maker, owner_id, core.max_jobs_per_user):
        job = await queue_job(runtime, kind=JOB_KIND, owner_id=owner_id, payload=payload)
    video = Video(id=video_id, owner_id=owner_id, job_id=job.id, status="queued", params=params)
    session.add(video)
    await session.commit()
    return video, job


async def get_video(session: AsyncSession, owner_id: uuid.UUID, video_id: uuid.UUID) -> VideoState:
    """The caller's video with its job's status; raises :class:`VideoNotFound`."""
    video = await session.get(Video, video_id)
    if video is None or video.owner_id != owner_id:
        raise VideoNotFound("video not found")
    if video.status in ("succeeded", "failed"):
        job = None if video.status == "succeeded" else await session.get(Job, video.job_id)
        return VideoState(video, job.error if job is not None else None)
    return await _follow_job(session, video, await session.get(Job, video.job_id))


async def _follow_job(session: AsyncSession, video: Video, job: Job | None) -> VideoState:
    """Bring an unfinished video's status to its job's, storing it once the job finished."""
    if job is None:
        # The job row is gone (deleted with its owner's data, or never committed).
        return VideoState(video, "the video's job no longer exists")
    if job.status == "succeeded" and job.result:
        _finalize(video, job.result)
        await session.commit()
    elif job.status in ("failed", CANCELLED):
        video.status = "failed"  # a cancelled video is not made: its error says why
        await session.commit()
    elif video.status != job.status:
        video.status = job.status  # queued or running: mirrored, not stored
    return VideoState(video, job.error if job.status in ("failed", CANCELLED) else None)


async def list_videos(
    session: AsyncSession, owner_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[list[VideoState], str | None]:
    """One page of the owner's videos, newest first, by keyset on (created_at, id); the
    unfinished ones follow their jobs (one query for all of them). Raises CursorError on a
    cursor the server did not make."""
    query = select(Video).where(Video.owner_id == owner_id)
    if cursor:
        created_at, last_id = decode_cursor(cursor)
        query = query.where(
            tuple_(Video.created_at, Video.id)
            < tuple_(literal(created_at, Video.created_at.type), literal(last_id, Video.id.type))
        )
    query = query.order_by(Video.created_at.desc(), Video.id.desc()).limit(limit + 1)
    videos = list((await session.execute(query)).scalars())
    next_cursor = None
    if len(videos) > limit:
        videos = videos[:limit]
        next_cursor = encode_cursor(videos[-1].created_at, videos[-1].id)
    job_ids = {v.job_id for v in videos if v.status != "succeeded"}
    jobs: dict[uuid.UUID, Job] = {}
    if job_ids:
        rows = await session.execute(select(Job).where(Job.id.in_(job_ids)))
        jobs = {job.id: job for job in rows.scalars()}
    states = []
    for video in videos:
        job = jobs.get(video.job_id)
        if video.status == "succeeded":
            states.append(VideoState(video, None))
        elif video.status == "failed":
            states.append(VideoState(video, job.error if job is not None else None))
        else:
            states.append(await _follow_job(session, video, job))
    return states, next_cursor


async def delete_video(
    session: AsyncSession, runtime: VideoPorts, owner_id: uuid.UUID, video_id: uuid.UUID
) -> None:
    """Delete the caller's video: its row, its job and every object stored under its output
    key (the MP4 and what the handler keeps beside it). A queued job is cancelled first (the
    worker claims only queued jobs); a running one is :class:`VideoBusy`, since it would store
    its MP4 after the delete."""
    video = await session.get(Video, video_id)
    if video is None or video.owner_id != owner_id:
        raise VideoNotFound("video not found")
    job = await session.get(Job, video.job_id)
    if job is not None and job.status in ("queued", "running"):
        cancelled = job.status == "queued" and await fail_job(
            runtime.session_maker, job.id, "the video was deleted"
        )
        if not cancelled:
            raise VideoBusy(
                "the video is being made; cancel its job (POST /api/jobs/{id}/cancel) first, "
                "or delete it once it has finished"
            )
    key = output_key(owner_id, video.id)
    keys = {video.storage_key} if video.storage_key else set()
    # Row first, then the bytes: a crash in between leaves an orphan object that
    # `salon doctor` finds, never a row pointing at nothing.
    await session.execute(delete(Job).where(Job.id == video.job_id))
    await session.delete(video)
    await session.commit()
    storage = runtime.storage
    keys.update([info.key async for info in storage.list(key)])
    for stored in sorted(keys):
        try:
            await storage.delete(stored)
        except Exception:
            log.exception("could not delete %s; `salon doctor` will find it", stored)


def _finalize(video: Video, result: dict[str, Any]) -> None:
    video.status = "succeeded"
    video.storage_key = str(result["output_key"])
    video.duration = float(result["duration"])
    video.size = int(result["size"])


async def video_url(runtime: VideoPorts, video: Video) -> str | None:
    """Where to play a finished video: a presigned URL when the storage offers them (S3), else
    the server's own route, which supports Range requests so players can seek."""
    if video.status != "succeeded" or not video.storage_key:
        return None
    storage = runtime.storage
    if storage.capabilities.presigned_get:
        return await storage.presign_get(
            video.storage_key,
            expires_in=runtime.core.presign_ttl,
            filename=f"{video.id}.mp4",
        )
    return FILE_ROUTE.format(id=video.id)
