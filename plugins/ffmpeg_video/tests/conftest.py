"""Fixtures for the ffmpeg video plugin's tests: the core's real local storage, generated
photos, a job context, and probes of the produced MP4 (ffprobe, decoded frames, MP4 boxes)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from salon.defaults.local_storage import LocalStorage
from salon.providers import StorageBackend
from salon_ffmpeg_video.binary import find_ffmpeg


@dataclass
class RecordingJob:
    """A JobContext as the worker builds one, recording the progress it is told."""

    payload: Mapping[str, Any]
    storage: StorageBackend
    job_id: str = "job-1"
    kind: str = "video"
    owner_id: str | None = "owner"
    attempt: int = 1
    progress_reports: list[float] = field(default_factory=list)

    async def progress(self, fraction: float) -> None:
        self.progress_reports.append(fraction)

    def service(self, name: str) -> Any:
        raise LookupError(name)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


@pytest.fixture
def put_image(storage: LocalStorage) -> Callable[..., Any]:
    """Store a solid-colour JPEG (or other format) and return its key."""

    async def put(
        key: str, size: tuple[int, int], color: tuple[int, int, int], fmt: str = "JPEG"
    ) -> str:
        buffer = io.BytesIO()
        Image.new("RGB", size, color).save(buffer, format=fmt, quality=95)

        async def chunks() -> AsyncIterator[bytes]:
            yield buffer.getvalue()

        await storage.put(key, chunks(), content_type=f"image/{fmt.lower()}")
        return key

    return put


@pytest.fixture
def ffmpeg() -> str:
    return find_ffmpeg()


@pytest.fixture
def ffprobe() -> Callable[[Path], dict[str, Any]]:
    """ffprobe's JSON for a file. imageio-ffmpeg ships no ffprobe: it comes from the system
    (Debian package ``ffmpeg``)."""
    binary = shutil.which("ffprobe")
    if binary is None:
        pytest.skip("ffprobe not installed (apt-get install ffmpeg); MP4 probe checks skipped")

    def probe(path: Path) -> dict[str, Any]:
        out = subprocess.run(
            [binary, "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
            check=True,
            capture_output=True,
        ).stdout
        return json.loads(out)

    return probe


@pytest.fixture
def frame_at(ffmpeg: str) -> Callable[[Path, float], Image.Image]:
    """Decode the frame shown at ``t`` seconds as an RGB image (with the bundled ffmpeg)."""

    def grab(path: Path, t: float) -> Image.Image:
        out = subprocess.run(
            [ffmpeg, "-v", "error", "-ss", f"{t:.3f}", "-i", str(path)]  # noqa: RUF005
            + ["-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"],
            check=True,
            capture_output=True,
        ).stdout
        return Image.open(io.BytesIO(out)).convert("RGB")

    return grab


@pytest.fixture
def recording_job(storage: LocalStorage) -> Callable[..., RecordingJob]:
    def make(payload: Mapping[str, Any], storage: StorageBackend = storage) -> RecordingJob:
        return RecordingJob(payload=payload, storage=storage)

    return make
