"""The ffmpeg command for a slideshow, as a pure function of its inputs (no I/O here).

Why this graph: each photo is read as ONE frame, scaled and letterboxed once, and only the small
result is repeated with the ``loop`` filter. The naive ``-loop 1 -i photo.jpg`` re-decodes the
full-size JPEG for every output frame and is about 10x slower (see benchmarks/video/README.md).

Timing: every photo owns exactly ``seconds_per_image`` of the video, so the total is always
``len(inputs) * seconds_per_image``. With a crossfade of ``T`` seconds each fade is centred on
the boundary between two photos: the first and last clips are ``S + T/2`` long, the others
``S + T``, and fade ``k`` (between photo ``k`` and ``k + 1``, counting from 0) starts at
``(k + 1) * S - T / 2`` on the output timeline. The overlaps (``(n - 1) * T``) cancel the extra
clip length, so the crossfade does not shorten the video.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["FPS", "MAX_CROSSFADE", "SlideshowSpec", "build_command", "crossfade_seconds"]

FPS = 30
MAX_CROSSFADE = 0.5
"""Length of a crossfade in seconds; shorter for very short slides (at most half a slide)."""

Transition = Literal["none", "crossfade"]


@dataclass(frozen=True, slots=True)
class SlideshowSpec:
    """What to render: local image files in order and the output's shape."""

    inputs: Sequence[Path]
    output: Path
    seconds_per_image: float
    transition: Transition = "crossfade"
    width: int = 1280
    height: int = 720
    preset: str = "veryfast"
    crf: int = 23

    @property
    def duration(self) -> float:
        """Length of the video in seconds: every photo owns ``seconds_per_image``."""
        return _frames(self.seconds_per_image) * len(self.inputs) / FPS


def crossfade_seconds(seconds_per_image: float) -> float:
    """The fade length used for a slide length: 0.5 s, or half a slide when slides are short."""
    return min(MAX_CROSSFADE, _frames(seconds_per_image) // 2 / FPS)


def _frames(seconds: float) -> int:
    return max(1, round(seconds * FPS))


def _clip_frames(spec: SlideshowSpec) -> list[int]:
    """Frames of each photo's clip before the transitions join them."""
    n = len(spec.inputs)
    slide = _frames(spec.seconds_per_image)
    if spec.transition == "none" or n == 1:
        return [slide] * n
    fade = round(crossfade_seconds(spec.seconds_per_image) * FPS)
    half_first = fade // 2
    half_second = fade - half_first
    # First clip: slide + fade/2 (only a fade out), last: slide + fade/2 (only a fade in).
    clips = [slide + half_second] + [slide + fade] * (n - 2) + [slide + half_first]
    return clips


def _letterbox(index: int, frames: int, spec: SlideshowSpec) -> str:
    """Scale one photo once to fit inside the frame, pad it with black, then repeat that frame.

    ``out_range=tv`` converts JPEG's full-range colour to the limited range players expect
    (yuv420p, not the deprecated yuvj420p).
    """
    w, h = spec.width, spec.height
    return (
        f"[{index}:v]scale={w}:{h}:force_original_aspect_ratio=decrease"
        f":force_divisible_by=2:out_range=tv,format=yuv420p,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,"
        f"loop=loop={frames - 1}:size=1:start=0,setpts=N/({FPS}*TB)[v{index}]"
    )


def _filter_graph(spec: SlideshowSpec) -> str:
    clips = _clip_frames(spec)
    parts = [_letterbox(i, frames, spec) for i, frames in enumerate(clips)]
    n = len(clips)
    if n == 1:
        parts.append("[v0]null[out]")
    elif spec.transition == "none":
        parts.append("".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[out]")
    else:
        slide = _frames(spec.seconds_per_image)
        fade = round(crossfade_seconds(spec.seconds_per_image) * FPS)
        lead_in = clips[0] - slide  # the part of the first fade that lies after its boundary
        previous = "v0"
        for k in range(1, n):
            # The fade into photo k ends ``lead_in`` frames after the boundary k * slide;
            # computed in whole frames so rounding never drifts over 200 photos.
            offset = (k * slide + lead_in - fade) / FPS
            label = "out" if k == n - 1 else f"x{k}"
            parts.append(
                f"[{previous}][v{k}]xfade=transition=fade:duration={fade / FPS:.6f}"
                f":offset={offset:.6f}[{label}]"
            )
            previous = label
    return ";".join(parts)


def build_command(ffmpeg: str, spec: SlideshowSpec, *, progress: bool = True) -> list[str]:
    """The full argument list (no shell involved) that renders ``spec`` to ``spec.output``."""
    if not spec.inputs:
        raise ValueError("a slideshow needs at least one image")
    args = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error", "-y"]
    for path in spec.inputs:
        # One frame per input, stamped at FPS so the loop filter's frames get the right rate.
        args += ["-framerate", str(FPS), "-i", str(path)]
    args += ["-filter_complex", _filter_graph(spec), "-map", "[out]"]
    args += ["-c:v", "libx264", "-preset", spec.preset, "-crf", str(spec.crf)]
    args += ["-pix_fmt", "yuv420p", "-r", str(FPS), "-an", "-movflags", "+faststart"]
    if progress:
        args += ["-progress", "pipe:1"]
    args += ["-f", "mp4", str(spec.output)]
    return args
