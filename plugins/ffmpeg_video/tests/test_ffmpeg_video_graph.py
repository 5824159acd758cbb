"""The slideshow command as data: timing arithmetic and the argument list (no ffmpeg run)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from salon_ffmpeg_video.graph import FPS, SlideshowSpec, build_command, crossfade_seconds


def spec(n: int, seconds: float, transition: str = "crossfade") -> SlideshowSpec:
    return SlideshowSpec(
        inputs=[Path(f"/tmp/in/image_{i:03d}.jpg") for i in range(n)],
        output=Path("/tmp/out/video.mp4"),
        seconds_per_image=seconds,
        transition=transition,  # type: ignore[arg-type]
    )


def graph_of(s: SlideshowSpec) -> str:
    args = build_command("ffmpeg", s)
    return args[args.index("-filter_complex") + 1]


@pytest.mark.parametrize(("n", "seconds"), [(1, 3.0), (2, 0.5), (10, 3.0), (200, 30.0), (7, 1.3)])
@pytest.mark.parametrize("transition", ["none", "crossfade"])
def test_video_lasts_images_times_seconds(n: int, seconds: float, transition: str) -> None:
    s = spec(n, seconds, transition)
    graph = graph_of(s)
    loops = [int(m) + 1 for m in re.findall(r"loop=loop=(\d+)", graph)]
    assert len(loops) == n
    if transition == "crossfade" and n > 1:
        fades = [float(d) for d in re.findall(r"xfade=transition=fade:duration=([\d.]+)", graph)]
        total = sum(loops) / FPS - sum(fades)
    else:
        total = sum(loops) / FPS
    assert abs(total - n * seconds) <= 0.1 / 2
    assert abs(s.duration - n * seconds) <= 0.1 / 2


def test_each_crossfade_is_centred_on_the_boundary_between_photos() -> None:
    graph = graph_of(spec(4, 3.0))
    offsets = [float(o) for o in re.findall(r":offset=([\d.]+)", graph)]
    fade = crossfade_seconds(3.0)
    assert fade == 0.5
    # Centred to within one frame (a 15-frame fade splits 7 + 8 around the boundary).
    expected = [3.0 - fade / 2, 6.0 - fade / 2, 9.0 - fade / 2]
    assert offsets == pytest.approx(expected, abs=1 / FPS + 1e-6)


def test_short_slides_get_shorter_fades() -> None:
    assert crossfade_seconds(0.5) <= 0.25
    assert crossfade_seconds(30) == 0.5


def test_each_photo_is_decoded_once_and_letterboxed() -> None:
    args = build_command("/opt/ffmpeg", spec(3, 2.0))
    graph = args[args.index("-filter_complex") + 1]
    assert args[0] == "/opt/ffmpeg"
    assert "-loop" not in args, "-loop 1 would decode the full-size photo for every frame"
    assert args.count("-i") == 3
    assert graph.count("force_original_aspect_ratio=decrease") == 3
    assert graph.count("pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=black") == 3
    assert graph.count("loop=loop=") == 3
    for flag, value in [("-c:v", "libx264"), ("-pix_fmt", "yuv420p"), ("-movflags", "+faststart")]:
        assert args[args.index(flag) + 1] == value
    assert args[args.index("-progress") + 1] == "pipe:1"
    assert args[-1] == "/tmp/out/video.mp4"


def test_hard_cuts_use_concat() -> None:
    graph = graph_of(spec(3, 2.0, "none"))
    assert "xfade" not in graph
    assert "[v0][v1][v2]concat=n=3:v=1:a=0[out]" in graph


def test_paths_are_single_arguments_never_shell_text() -> None:
    odd = Path("/tmp/in/a b;rm -rf $HOME.jpg")
    s = SlideshowSpec(inputs=[odd], output=Path("/tmp/o.mp4"), seconds_per_image=1)
    args = build_command("ffmpeg", s)
    assert str(odd) in args


def test_no_inputs_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one image"):
        build_command("ffmpeg", spec(0, 1.0))
