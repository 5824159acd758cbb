"""Request and response shapes of ``/api/videos``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from salon.db.models import Video

__all__ = ["MAX_IMAGES", "VideoCreate", "VideoCreated", "VideoOut", "VideoPage"]

MAX_IMAGES = 200

Side = Annotated[int, msgspec.Meta(ge=160, le=3840, multiple_of=2)]


class VideoCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/videos``: the caller's images in order, shown ``seconds_per_image`` each.

    ``width`` and ``height`` are even (H.264 with 4:2:0 chroma needs it), 160..3840. A
    ``title`` adds a title card as the first slide (so the video is one slide longer).
    """

    image_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=MAX_IMAGES)]
    seconds_per_image: Annotated[float, msgspec.Meta(ge=0.5, le=30)] = 3.0
    transition: Literal["none", "crossfade"] = "crossfade"
    width: Side = 1280
    height: Side = 720
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class VideoCreated(msgspec.Struct):
    """The 202 answer: follow ``GET /api/jobs/{job_id}`` or ``GET /api/videos/{video_id}``."""

    video_id: str
    job_id: str


class VideoOut(msgspec.Struct):
    """A video: ``status`` mirrors its job (queued, running, succeeded, failed); ``url`` plays
    the MP4 once it succeeded, ``duration`` is in seconds, ``error`` says why it failed;
    ``title`` is the title card's text, ``image_count`` how many photos it shows."""

    id: str
    status: str
    duration: float | None
    url: str | None
    job_id: str
    error: str | None = None
    created_at: dt.datetime | None = None
    title: str | None = None
    image_count: int = 0


class VideoPage(msgspec.Struct):
    """``GET /api/videos``: newest first; pass ``next_cursor`` back as ``cursor``."""

    items: list[VideoOut]
    next_cursor: str | None


def video_out(video: Video, url: str | None, error: str | None = None) -> VideoOut:
    return VideoOut(
        id=str(video.id),
        status=video.status,
        duration=video.duration,
        url=url,
        job_id=str(video.job_id),
        error=error,
        created_at=video.created_at,
        title=(video.params or {}).get("title"),
        image_count=len((video.params or {}).get("image_ids") or ()),
    )
