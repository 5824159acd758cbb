"""salon-ffmpeg-video: turns a user's photos into an H.264 slideshow video.

Registers the ``video`` job handler and the web UI's ``/video`` page (the video maker) with its
nav entry. ffmpeg is imageio-ffmpeg's bundled binary or the system's;
it is located when the plugin is loaded (a missing one is logged at once) and :func:`check` is
the readiness check: it raises :class:`FfmpegNotFound` (a ``ConfigurationError``) naming what to
install, so a gallery without ffmpeg says so at ``/ready`` instead of failing mid-job.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from salon import hookimpl
from salon.providers import (
    LONG,
    JobContext,
    PageSpec,
    PluginFiles,
    RegisterJobHandler,
    RegisterPages,
)

from salon_ffmpeg_video.binary import FfmpegBinary, FfmpegNotFound, find_ffmpeg
from salon_ffmpeg_video.graph import SlideshowSpec, build_command
from salon_ffmpeg_video.handler import RenderOptions, VideoPayload, VideoRenderer
from salon_ffmpeg_video.runner import RenderError

__all__ = [
    "FfmpegBinary",
    "FfmpegNotFound",
    "RenderError",
    "RenderOptions",
    "SlideshowSpec",
    "VideoPayload",
    "VideoRenderer",
    "build_command",
    "check",
    "find_ffmpeg",
    "register_job_handlers",
    "register_pages",
    "render_video",
]

log = logging.getLogger("salon_ffmpeg_video")

_renderer = VideoRenderer()


async def render_video(job: JobContext) -> dict[str, Any]:
    """The ``video`` job handler (see :mod:`salon_ffmpeg_video.handler` for the payload)."""
    return await _renderer(job)


async def check() -> FfmpegBinary:
    """Readiness check: raises ``FfmpegNotFound`` when no usable ffmpeg is installed."""
    return await _renderer.check()


# The core's /ready calls a job handler's ``check`` attribute when it has one.
render_video.check = check  # type: ignore[attr-defined]


@hookimpl
def register_job_handlers(register: RegisterJobHandler) -> None:
    """Offer the ``video`` job kind, in the long lane (a render takes minutes: short jobs keep
    slots of their own). ffmpeg is located now so a missing one shows at start-up; the handler
    is registered anyway and fails each job with the same clear message."""
    try:
        log.debug("ffmpeg for videos: %s", _renderer.locate())
    except FfmpegNotFound as exc:
        log.error("videos cannot be made: %s", exc)
    register("video", render_video, lane=LONG)


HERE = Path(__file__).parent


@hookimpl
def register_pages(register: RegisterPages) -> None:
    """The video maker: pick photos, make a slideshow, watch and download earlier ones."""
    register(PluginFiles(templates=HERE / "templates", static=HERE / "static"))
    register(
        PageSpec(
            "/video",
            "video.html",
            "Video maker",
            nav_label="Video",
            nav_order=60,
            scripts=["video.js"],
            styles=["video.css"],
        )
    )
