"""Finding ffmpeg: imageio-ffmpeg's bundled static binary first, else the system's ``ffmpeg``.

``imageio_ffmpeg.get_ffmpeg_exe()`` honours ``IMAGEIO_FFMPEG_EXE`` (an operator's override),
then the binary in its wheel, then ``ffmpeg`` on ``PATH``. Finding the path is cheap and done at
start-up; checking that the binary runs and has libx264 and xfade costs one short subprocess and
is done once, by the readiness check or the first job.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from salon.errors import ConfigurationError
from salon.processes import child_setup

__all__ = ["FfmpegBinary", "FfmpegNotFound", "find_ffmpeg", "probe_binary"]

log = logging.getLogger("salon_ffmpeg_video")

INSTALL_HINT = (
    "install the plugin's dependency imageio-ffmpeg (pip install 'imageio-ffmpeg>=0.5') "
    "or a system ffmpeg with libx264 (apt-get install ffmpeg), "
    "or point IMAGEIO_FFMPEG_EXE at an ffmpeg binary"
)


class FfmpegNotFound(ConfigurationError):
    """No usable ffmpeg: videos cannot be made. The message says what to install."""


@dataclass(frozen=True, slots=True)
class FfmpegBinary:
    """A checked ffmpeg: its path and version line."""

    path: str
    version: str


def find_ffmpeg() -> str:
    """Path of the ffmpeg to use; raises :class:`FfmpegNotFound` when there is none."""
    try:
        import imageio_ffmpeg

        path = str(imageio_ffmpeg.get_ffmpeg_exe())
    except ImportError:
        path = None
    except RuntimeError:
        # imageio-ffmpeg raises RuntimeError when neither its binary nor a system one exists.
        path = None
    path = path or shutil.which("ffmpeg")
    if not path or not Path(path).is_file():
        raise FfmpegNotFound(f"ffmpeg not found: {INSTALL_HINT}")
    return path


async def probe_binary(path: str, *, time_limit: float = 20.0) -> FfmpegBinary:
    """Run ``path`` once to see that it works and has the encoder and filters slideshows use."""
    try:
        version = await _output([path, "-hide_banner", "-version"], time_limit)
        encoders = await _output([path, "-hide_banner", "-encoders"], time_limit)
        filters = await _output([path, "-hide_banner", "-filters"], time_limit)
    except FileNotFoundError:
        raise FfmpegNotFound(f"ffmpeg not found at {path}: {INSTALL_HINT}") from None
    except (OSError, TimeoutError) as exc:
        raise FfmpegNotFound(f"ffmpeg at {path} does not run ({exc!r}): {INSTALL_HINT}") from exc
    missing = [name for name, text in (("libx264", encoders),) if f" {name} " not in text]
    missing += [name for name in ("xfade", "loop", "pad") if not re.search(rf"\s{name}\s", filters)]
    if missing:
        raise FfmpegNotFound(f"ffmpeg at {path} lacks {', '.join(missing)}: {INSTALL_HINT}")
    return FfmpegBinary(path=path, version=version.splitlines()[0] if version else "unknown")


async def _output(args: list[str], time_limit: float) -> str:
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        preexec_fn=child_setup(),  # a probe never outlives the server either
    )
    try:
        stdout, _ = await asyncio.wait_for(process.communicate(), time_limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    if process.returncode != 0:
        raise OSError(f"exit status {process.returncode}")
    return stdout.decode("utf-8", "replace")
