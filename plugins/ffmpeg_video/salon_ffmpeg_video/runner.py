"""Running ffmpeg as a subprocess: an argument list (never a shell), a time limit, and progress
read from ``-progress pipe:1`` (``out_time_us`` against the known output duration). ffmpeg runs
at a lower CPU priority (requests and the other users' work come first) and is killed with the
process that started it (:mod:`salon.processes`), so a stopped server leaves none behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from salon.processes import child_setup

__all__ = ["RenderError", "run_ffmpeg"]

log = logging.getLogger("salon_ffmpeg_video")

ProgressCallback = Callable[[float], Awaitable[None]]

STDERR_TAIL_LINES = 5
_CONTEXT = re.compile(r"\[([^\]@]+?) @ 0x[0-9a-f]+\] ")
# ffmpeg writes a progress block every 0.5 s; reporting every 2 % is plenty for a progress bar
# and keeps database writes (each report is also a heartbeat) few.
MIN_PROGRESS_STEP = 0.02


class RenderError(RuntimeError):
    """ffmpeg failed or timed out; the message is short and fit to show as the job's error."""


async def run_ffmpeg(
    args: Sequence[str],
    *,
    duration: float,
    time_limit: float,
    on_progress: ProgressCallback | None = None,
    nice: int = 10,
) -> None:
    """Run ``args`` ``nice`` steps lower in CPU priority; report progress in [0, 1) to
    ``on_progress``; kill after ``time_limit`` s (or when this task is cancelled).

    Raises :class:`RenderError` ("ffmpeg timed out after N s", or ffmpeg's last error lines).
    """
    process = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=child_setup(nice),
    )
    assert process.stdout is not None and process.stderr is not None
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)

    async def read_stderr() -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                stderr_tail.append(line)

    async def read_progress() -> None:
        assert process.stdout is not None
        reported = 0.0
        async for raw in process.stdout:
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            if key != "out_time_us" or on_progress is None or duration <= 0:
                continue
            try:
                fraction = int(value) / 1_000_000 / duration
            except ValueError:  # "N/A" before the first frame
                continue
            # Stay below 1: the job is done only once the file is stored.
            fraction = min(max(fraction, 0.0), 0.99)
            if fraction - reported >= MIN_PROGRESS_STEP:
                reported = fraction
                await on_progress(fraction)

    readers = asyncio.gather(read_stderr(), read_progress())
    try:
        async with asyncio.timeout(time_limit):
            await readers
            returncode = await process.wait()
    except TimeoutError:
        raise RenderError(f"ffmpeg timed out after {time_limit:g} s") from None
    finally:
        # On timeout, cancellation (worker shutdown) or a failing progress callback: never leave
        # an ffmpeg running.
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        readers.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await readers
    if returncode != 0:
        detail = " | ".join(stderr_tail) or f"exit status {returncode}"
        log.warning("ffmpeg failed (exit %s): %s", returncode, detail)
        # "[webp @ 0x55d1c...] image data not found": the addresses tell a user nothing.
        shown = _CONTEXT.sub(r"\1: ", detail)
        raise RenderError(f"ffmpeg failed: {shown[-300:]}")
