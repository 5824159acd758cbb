"""The ``video`` job handler: stage the photos, run ffmpeg, store the MP4, record the result.

It talks to the core only through :class:`salon.providers.JobContext`. The payload is built by
the core's videos service::

    {"video_id", "inputs": [storage keys], "seconds_per_image", "transition": "none"|"crossfade",
     "width", "height", "title": str | None, "output_key": "videos/<owner>/<video_id>.mp4"}

Idempotent (queues deliver at least once): the output key is the same on every attempt, and
after the MP4 is stored a small ``<output_key>.result.json`` records the payload's fingerprint
and the result. An attempt that finds both, matching, returns the recorded result without
rendering. A crash between the two writes only costs a second render of the same bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import anyio
from salon.errors import ObjectNotFound
from salon.providers import JobContext, StorageBackend

from salon_ffmpeg_video.binary import FfmpegBinary, find_ffmpeg, probe_binary
from salon_ffmpeg_video.graph import SlideshowSpec, build_command
from salon_ffmpeg_video.prescale import fit_within
from salon_ffmpeg_video.runner import RenderError, run_ffmpeg
from salon_ffmpeg_video.titlecard import render_title_card

__all__ = ["RenderOptions", "VideoPayload", "VideoRenderer", "result_key"]

log = logging.getLogger("salon_ffmpeg_video")

MAX_IMAGES = 200
STAGING_SHARE = (
    0.05  # of the progress bar, for copying and reducing inputs (it is also the heartbeat)
)
STAGING_CONCURRENCY = 4
REFERENCE_PIXELS = 1280 * 720  # the frame size the per-second time limit is measured at
CHUNK = 1 << 20
_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How to render. ``timeout`` None means ``timeout_base + timeout_per_second * duration``
    scaled by the frame size against 720p (never below 1x): a limit proportional to the work,
    and generous, since a healthy 720p render takes about 0.2 s per second of video on 2
    cores."""

    ffmpeg: str | None = None
    timeout: float | None = None
    timeout_base: float = 120.0
    timeout_per_second: float = 3.0
    preset: str = "veryfast"
    crf: int = 23
    # Like the media workers (SALON_MEDIA_NICE): a render gives way to requests.
    nice: int = 10

    def timeout_for(self, duration: float, width: int = 1280, height: int = 720) -> float:
        if self.timeout is not None:
            return self.timeout
        scale = max(1.0, (width * height) / REFERENCE_PIXELS)
        return self.timeout_base + self.timeout_per_second * duration * scale


@dataclass(frozen=True, slots=True)
class VideoPayload:
    """A checked job payload. The core validated it already; a worker checks again because the
    payload crossed a process boundary and a bad one should fail with a clear reason."""

    video_id: str
    inputs: tuple[str, ...]
    seconds_per_image: float
    transition: str
    width: int
    height: int
    output_key: str
    title: str | None = None

    @classmethod
    def parse(cls, payload: Mapping[str, Any]) -> VideoPayload:
        try:
            inputs = tuple(str(key) for key in payload["inputs"])
            parsed = cls(
                video_id=str(payload["video_id"]),
                inputs=inputs,
                seconds_per_image=float(payload["seconds_per_image"]),
                transition=str(payload.get("transition", "crossfade")),
                width=int(payload.get("width", 1280)),
                height=int(payload.get("height", 720)),
                output_key=str(payload["output_key"]),
                title=(str(payload["title"]) if payload.get("title") else None),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RenderError(f"invalid video payload: {exc!r}") from None
        parsed._check()
        return parsed

    def _check(self) -> None:
        if not 1 <= len(self.inputs) <= MAX_IMAGES:
            raise RenderError(f"a video needs 1 to {MAX_IMAGES} images")
        if not 0.5 <= self.seconds_per_image <= 30:
            raise RenderError("seconds_per_image must be between 0.5 and 30")
        if self.transition not in ("none", "crossfade"):
            raise RenderError("transition must be 'none' or 'crossfade'")
        for side in (self.width, self.height):
            if not 160 <= side <= 3840 or side % 2:
                raise RenderError("width and height must be even, between 160 and 3840")
        if not self.output_key.endswith(".mp4"):
            raise RenderError("output_key must end with .mp4")

    def fingerprint(self) -> str:
        """Identifies what would be rendered: a changed payload never reuses an old file."""
        data = json.dumps(
            [
                list(self.inputs),
                self.seconds_per_image,
                self.transition,
                self.width,
                self.height,
                self.title,
                self.output_key,
            ],
            separators=(",", ":"),
        )
        return hashlib.sha256(data.encode()).hexdigest()


def result_key(output_key: str) -> str:
    """Where the result of a finished render is recorded beside the MP4."""
    return f"{output_key}.result.json"


class VideoRenderer:
    """Renders ``video`` jobs with one ffmpeg. The binary is located when the renderer is made
    (at start-up) and checked once, by :meth:`check` or the first job."""

    def __init__(self, options: RenderOptions | None = None) -> None:
        self.options = options or RenderOptions()
        self._binary: FfmpegBinary | None = None

    def locate(self) -> str:
        """The ffmpeg path (cheap); raises ``FfmpegNotFound`` with what to install."""
        return self.options.ffmpeg or find_ffmpeg()

    async def check(self) -> FfmpegBinary:
        """Readiness: ffmpeg exists, runs, and has libx264 and xfade. Raises ``FfmpegNotFound``
        (a ``ConfigurationError``) otherwise. The first success is cached (two concurrent
        first checks both probe, which is harmless)."""
        if self._binary is None:
            self._binary = await probe_binary(self.locate())
            log.info("ffmpeg ready: %s (%s)", self._binary.path, self._binary.version)
        return self._binary

    async def __call__(self, job: JobContext) -> dict[str, Any]:
        """The job handler."""
        payload = VideoPayload.parse(job.payload)
        binary = await self.check()
        recorded = await _recorded_result(job.storage, payload)
        if recorded is not None:
            log.info("video %s already rendered; reusing %s", payload.video_id, payload.output_key)
            return recorded
        started = time.monotonic()
        prefix = _scratch_prefix(job.job_id)
        await asyncio.to_thread(_remove_leftovers, prefix)
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            folder = Path(tmp)
            inputs = await _stage_inputs(job, payload, folder)
            if payload.title:
                card = folder / "title.png"
                await asyncio.to_thread(
                    render_title_card, payload.title, payload.width, payload.height, card
                )
                inputs.insert(0, card)
            spec = SlideshowSpec(
                inputs=inputs,
                output=folder / "video.mp4",
                seconds_per_image=payload.seconds_per_image,
                transition="none" if payload.transition == "none" else "crossfade",
                width=payload.width,
                height=payload.height,
                preset=self.options.preset,
                crf=self.options.crf,
            )

            async def on_progress(fraction: float) -> None:
                await job.progress(STAGING_SHARE + (1 - STAGING_SHARE) * fraction)

            await run_ffmpeg(
                build_command(binary.path, spec),
                duration=spec.duration,
                time_limit=self.options.timeout_for(spec.duration, spec.width, spec.height),
                on_progress=on_progress,
                nice=self.options.nice,
            )
            info = await job.storage.put(
                payload.output_key, _read_file(spec.output), content_type="video/mp4"
            )
        result = {
            "output_key": payload.output_key,
            "duration": round(spec.duration, 3),
            "size": info.size,
            "width": payload.width,
            "height": payload.height,
        }
        await _record_result(job.storage, payload, result)
        await job.progress(1.0)
        log.info(
            "video %s: %d images, %.1f s of video in %.1f s",
            payload.video_id,
            len(payload.inputs),
            spec.duration,
            time.monotonic() - started,
        )
        return result


def _scratch_prefix(job_id: str) -> str:
    """Scratch folders are named after the job, so a later attempt can find what an attempt
    killed on this machine (SIGKILL, OOM) left behind."""
    return f"salon-video-{re.sub(r'[^A-Za-z0-9-]', '_', job_id)[:64]}-"


def _remove_leftovers(prefix: str) -> None:
    """Delete earlier attempts' scratch folders of this job. The job's claim makes this attempt
    the only one running, so nothing in them is still in use."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        log.info("removing %s, left by an earlier attempt", folder)
        shutil.rmtree(folder, ignore_errors=True)


async def _stage_inputs(job: JobContext, payload: VideoPayload, folder: Path) -> list[Path]:
    """Give every input a local file with a name we chose (ffmpeg never sees a key): a symlink
    when the storage keeps files locally, else a copy streamed from storage; then reduce it to
    the video's size (see :mod:`salon_ffmpeg_video.prescale`) in a worker thread."""
    storage = job.storage
    keys = payload.inputs
    done = 0
    limit = asyncio.Semaphore(STAGING_CONCURRENCY)
    cpu = asyncio.Semaphore(os.cpu_count() or 1)

    async def stage(index: int, key: str) -> Path:
        nonlocal done
        suffix = PurePosixPath(key).suffix.lower()
        target = folder / f"image_{index:03d}{suffix if _SAFE_SUFFIX.match(suffix) else ''}"
        local = storage.local_path(key) if storage.capabilities.local_paths else None
        async with limit:
            if local is not None:
                if not local.is_file():
                    raise RenderError(f"input image {key} is missing")
                target.symlink_to(local.resolve())
            else:
                await _copy(storage, key, target)
        async with cpu:
            fitted = await asyncio.to_thread(
                fit_within, target, folder / f"fit_{index:03d}.jpg", payload.width, payload.height
            )
        done += 1
        await job.progress(STAGING_SHARE * done / len(keys))
        return fitted

    return list(await asyncio.gather(*(stage(i, key) for i, key in enumerate(keys))))


async def _copy(storage: StorageBackend, key: str, target: Path) -> None:
    try:
        async with await anyio.open_file(target, "wb") as out:
            async for chunk in storage.open(key, chunk_size=CHUNK):
                await out.write(chunk)
    except ObjectNotFound:
        raise RenderError(f"input image {key} is missing") from None


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as source:
        while chunk := await source.read(CHUNK):
            yield chunk


async def _recorded_result(storage: StorageBackend, payload: VideoPayload) -> dict[str, Any] | None:
    """The result of an earlier attempt of this very payload, if its MP4 is still stored."""
    try:
        video = await storage.stat(payload.output_key)
        raw = b"".join([chunk async for chunk in storage.open(result_key(payload.output_key))])
    except ObjectNotFound:
        return None
    try:
        record = json.loads(raw)
        result = record["result"]
        matches = record["fingerprint"] == payload.fingerprint() and result["size"] == video.size
    except (ValueError, KeyError, TypeError):
        return None
    return dict(result) if matches else None


async def _record_result(
    storage: StorageBackend, payload: VideoPayload, result: Mapping[str, Any]
) -> None:
    body = json.dumps({"fingerprint": payload.fingerprint(), "result": dict(result)}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    await storage.put(result_key(payload.output_key), chunks(), content_type="application/json")
