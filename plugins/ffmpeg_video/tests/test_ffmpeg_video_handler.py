"""The ``video`` job handler with the real ffmpeg, on generated photos in the core's real local
storage: the MP4 is probed (ffprobe), its boxes read (faststart), and frames decoded to check
letterboxing, crossfades and the title card."""

from __future__ import annotations

import asyncio
import os
import struct
import uuid
from pathlib import Path
from typing import Any

import pytest
from salon.defaults.local_storage import LocalStorage
from salon.providers import StorageCapabilities
from salon_ffmpeg_video import (
    FfmpegNotFound,
    RenderError,
    RenderOptions,
    VideoRenderer,
)
from salon_ffmpeg_video.handler import result_key

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (30, 30, 220)


def make_payload(inputs: list[str], **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "video_id": "v1",
        "inputs": inputs,
        "seconds_per_image": 1.0,
        "transition": "crossfade",
        "width": 320,
        "height": 180,
        "title": None,
        "output_key": "videos/owner/v1.mp4",
    }
    payload.update(overrides)
    return payload


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types in file order (``moov`` before ``mdat`` = faststart)."""
    boxes: list[str] = []
    with path.open("rb") as f:
        while header := f.read(8):
            size, kind = struct.unpack(">I4s", header)
            boxes.append(kind.decode("latin-1"))
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
                f.seek(size - 16, 1)
            elif size == 0:
                break
            else:
                f.seek(size - 8, 1)
    return boxes


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


async def three_photos(put_image: Any) -> list[str]:
    return [
        await put_image("originals/owner/a.jpg", (1600, 900), RED),
        await put_image("originals/owner/b.jpg", (1600, 900), GREEN),
        await put_image("originals/owner/c.jpg", (1600, 900), BLUE),
    ]


async def test_crossfade_video_is_h264_yuv420p_faststart_of_the_right_length(
    storage: LocalStorage, put_image: Any, recording_job: Any, ffprobe: Any, frame_at: Any
) -> None:
    keys = await three_photos(put_image)
    job = recording_job(make_payload(keys, seconds_per_image=1.5))

    result = await VideoRenderer()(job)

    path = storage.local_path("videos/owner/v1.mp4")
    assert result == {
        "output_key": "videos/owner/v1.mp4",
        "duration": 4.5,
        "size": path.stat().st_size,
        "width": 320,
        "height": 180,
    }
    info = ffprobe(path)
    (stream,) = info["streams"]
    assert stream["codec_name"] == "h264"
    assert stream["pix_fmt"] == "yuv420p"
    assert (stream["width"], stream["height"]) == (320, 180)
    assert abs(float(info["format"]["duration"]) - 4.5) <= 0.1
    boxes = top_level_boxes(path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    # Each photo fills its own slot; the fade is centred on the boundary at 1.5 s.
    assert close(frame_at(path, 0.5).getpixel((160, 90)), RED)
    assert close(frame_at(path, 2.2).getpixel((160, 90)), GREEN)
    assert close(frame_at(path, 4.2).getpixel((160, 90)), BLUE)
    middle = frame_at(path, 1.5).getpixel((160, 90))
    assert not close(middle, RED) and not close(middle, GREEN), middle  # a blend of both


async def test_hard_cuts_keep_each_photo_for_its_seconds(
    storage: LocalStorage, put_image: Any, recording_job: Any, ffprobe: Any, frame_at: Any
) -> None:
    keys = await three_photos(put_image)
    job = recording_job(make_payload(keys, transition="none", seconds_per_image=1.0))

    result = await VideoRenderer()(job)

    path = storage.local_path(result["output_key"])
    assert abs(float(ffprobe(path)["format"]["duration"]) - 3.0) <= 0.1
    assert close(frame_at(path, 0.9).getpixel((160, 90)), RED)
    assert close(frame_at(path, 1.1).getpixel((160, 90)), GREEN)
    assert close(frame_at(path, 2.9).getpixel((160, 90)), BLUE)


async def test_portrait_photo_is_letterboxed_with_black_bars_not_stretched(
    storage: LocalStorage, put_image: Any, recording_job: Any, frame_at: Any
) -> None:
    key = await put_image("originals/owner/tall.jpg", (600, 1200), GREEN)
    job = recording_job(make_payload([key], width=640, height=360))

    result = await VideoRenderer()(job)

    frame = frame_at(storage.local_path(result["output_key"]), 0.5)
    assert frame.size == (640, 360)
    # 600x1200 fits as 180x360, centred: x 230..410 is the photo, the rest black bars.
    assert close(frame.getpixel((10, 180)), (0, 0, 0), 8)
    assert close(frame.getpixel((630, 180)), (0, 0, 0), 8)
    assert close(frame.getpixel((215, 180)), (0, 0, 0), 8)
    assert close(frame.getpixel((320, 10)), GREEN)
    assert close(frame.getpixel((245, 350)), GREEN)


async def test_title_card_is_the_first_slide(
    storage: LocalStorage, put_image: Any, recording_job: Any, ffprobe: Any, frame_at: Any
) -> None:
    keys = await three_photos(put_image)
    job = recording_job(make_payload(keys[:2], title="Summer 2025", seconds_per_image=1.0))

    result = await VideoRenderer()(job)

    path = storage.local_path(result["output_key"])
    assert result["duration"] == 3.0  # title card + 2 photos, 1 s each
    assert abs(float(ffprobe(path)["format"]["duration"]) - 3.0) <= 0.1
    card = frame_at(path, 0.3)
    histogram = card.convert("L").histogram()
    bright, dark = sum(histogram[200:]), sum(histogram[:30])
    assert bright > 100, "the title's white text should be visible"
    assert dark > 0.8 * 320 * 180, "the card is black around the text"
    assert close(frame_at(path, 1.5).getpixel((160, 90)), RED)


async def test_webp_inputs_are_copied_from_storage_without_local_paths(
    storage: LocalStorage, put_image: Any, recording_job: Any, ffprobe: Any, frame_at: Any
) -> None:
    """Storage that cannot hand out local files (S3) is read through ``open``."""

    class RemoteLike(LocalStorage):
        capabilities = StorageCapabilities(local_paths=False)

        def local_path(self, key: str) -> Path:  # what S3 does: no files to hand out
            raise AssertionError("the handler must not ask for a local path")

    remote = RemoteLike(storage.root)
    key = await put_image("renditions/owner/a/lg.webp", (800, 450), BLUE, fmt="WEBP")
    job = recording_job(make_payload([key], seconds_per_image=1.0), storage=remote)

    await VideoRenderer()(job)

    path = storage.local_path("videos/owner/v1.mp4")
    assert abs(float(ffprobe(path)["format"]["duration"]) - 1.0) <= 0.1
    assert close(frame_at(path, 0.5).getpixel((160, 90)), BLUE)


async def test_progress_comes_from_ffmpeg_and_ends_at_one(
    put_image: Any, recording_job: Any
) -> None:
    keys = await three_photos(put_image)
    # Long enough that ffmpeg writes several progress blocks (one every 0.5 s).
    job = recording_job(make_payload(keys, seconds_per_image=30.0, width=480, height=270))

    await VideoRenderer()(job)

    reports = job.progress_reports
    assert reports[-1] == 1.0
    assert all(0.0 <= r <= 1.0 for r in reports)
    assert reports == sorted(reports)
    from_ffmpeg = [r for r in reports if 0.05 < r < 1.0]
    assert from_ffmpeg, f"no progress from ffmpeg's -progress output: {reports}"


async def test_second_delivery_reuses_the_recorded_video(
    storage: LocalStorage, put_image: Any, recording_job: Any
) -> None:
    keys = await three_photos(put_image)
    payload = make_payload(keys)
    first = await VideoRenderer()(recording_job(payload))
    path = storage.local_path(first["output_key"])
    written = path.stat().st_mtime_ns

    again = await VideoRenderer()(recording_job(payload))

    assert again == first
    assert path.stat().st_mtime_ns == written, "the video must not be rendered twice"
    assert storage.local_path(result_key(first["output_key"])).is_file()


async def test_changed_payload_renders_again(
    storage: LocalStorage, put_image: Any, recording_job: Any
) -> None:
    keys = await three_photos(put_image)
    first = await VideoRenderer()(recording_job(make_payload(keys)))

    second = await VideoRenderer()(recording_job(make_payload(keys, seconds_per_image=2.0)))

    assert (first["duration"], second["duration"]) == (3.0, 6.0)
    assert second["size"] == storage.local_path("videos/owner/v1.mp4").stat().st_size


async def test_timeout_kills_ffmpeg_and_stores_nothing(
    storage: LocalStorage, put_image: Any, recording_job: Any
) -> None:
    keys = await three_photos(put_image)
    job = recording_job(make_payload(keys, seconds_per_image=30.0, width=1920, height=1080))
    renderer = VideoRenderer(RenderOptions(timeout=0.3))
    children_before = _child_pids()

    with pytest.raises(RenderError, match=r"ffmpeg timed out after 0.3 s"):
        await renderer(job)

    assert not storage.local_path("videos/owner/v1.mp4").exists()
    await asyncio.sleep(0.1)
    assert _child_pids() <= children_before, "ffmpeg was left running"


async def test_missing_ffmpeg_is_a_clear_readiness_error(
    storage: LocalStorage, put_image: Any, recording_job: Any
) -> None:
    renderer = VideoRenderer(RenderOptions(ffmpeg="/nonexistent/ffmpeg"))

    with pytest.raises(FfmpegNotFound, match=r"ffmpeg not found .*imageio-ffmpeg"):
        await renderer.check()
    key = await put_image("originals/owner/a.jpg", (320, 180), RED)
    with pytest.raises(FfmpegNotFound):
        await renderer(recording_job(make_payload([key])))
    assert not storage.local_path("videos/owner/v1.mp4").exists()


async def test_readiness_check_reports_the_bundled_ffmpeg(ffmpeg: str) -> None:
    binary = await VideoRenderer().check()
    assert binary.path == ffmpeg
    assert binary.version.startswith("ffmpeg version")


async def test_missing_input_fails_with_a_short_reason(
    storage: LocalStorage, recording_job: Any
) -> None:
    job = recording_job(make_payload(["originals/owner/gone.jpg"]))
    with pytest.raises(RenderError, match=r"input image originals/owner/gone.jpg is missing"):
        await VideoRenderer()(job)
    assert not storage.local_path("videos/owner/v1.mp4").exists()


async def test_undecodable_input_fails_with_ffmpegs_reason(
    storage: LocalStorage, recording_job: Any
) -> None:
    async def junk() -> Any:
        yield b"this is not an image" * 10

    await storage.put("originals/owner/bad.jpg", junk(), content_type="image/jpeg")
    with pytest.raises(RenderError, match=r"^ffmpeg failed: ") as refused:
        await VideoRenderer()(recording_job(make_payload(["originals/owner/bad.jpg"])))
    assert " @ 0x" not in str(refused.value), refused.value  # no decoder addresses
    assert not storage.local_path("videos/owner/v1.mp4").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"inputs": []}, "1 to 200 images"),
        ({"seconds_per_image": 0.1}, "seconds_per_image"),
        ({"transition": "wipe"}, "transition"),
        ({"width": 321}, "even"),
        ({"output_key": "videos/owner/v1.avi"}, "output_key"),
        ({"inputs": None}, "invalid video payload"),
    ],
)
async def test_bad_payload_is_refused_before_any_work(
    storage: LocalStorage, recording_job: Any, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(RenderError, match=message):
        await VideoRenderer()(recording_job({**make_payload(["x.jpg"]), **overrides}))


def _child_pids() -> set[int]:
    """Processes whose parent is this test process (from /proc)."""
    me = os.getpid()
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            children.add(int(entry.name))
    return children


async def test_scratch_left_by_a_killed_attempt_is_removed_by_the_next(
    storage: LocalStorage, put_image: Any, recording_job: Any, tmp_path: Path
) -> None:
    import tempfile

    key = await put_image("originals/owner/a.jpg", (320, 180), RED)
    job = recording_job(make_payload([key]))
    job.job_id = f"leftover-{uuid.uuid4().hex}"
    # What a SIGKILL mid-render leaves: the attempt's scratch folder with a partial output.
    stale = Path(tempfile.mkdtemp(prefix=f"salon-video-{job.job_id}-"))
    (stale / "video.mp4").write_bytes(b"partial")

    await VideoRenderer()(job)

    assert not stale.exists()
    assert not list(Path(tempfile.gettempdir()).glob(f"salon-video-{job.job_id}-*"))


async def test_camera_orientation_is_applied_and_the_photo_letterboxed(
    storage: LocalStorage, recording_job: Any, frame_at: Any
) -> None:
    """A phone's portrait photo: landscape pixels tagged "rotate 90" (EXIF orientation 6)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (1200, 600), GREEN).save(buffer, format="JPEG", exif=exif.tobytes())

    async def chunks() -> Any:
        yield buffer.getvalue()

    await storage.put("originals/owner/phone.jpg", chunks(), content_type="image/jpeg")
    job = recording_job(make_payload(["originals/owner/phone.jpg"], width=640, height=360))

    result = await VideoRenderer()(job)

    frame = frame_at(storage.local_path(result["output_key"]), 0.5)
    # Upright it is 600x1200, so it fits as 180x360 with black bars at the sides.
    assert close(frame.getpixel((10, 180)), (0, 0, 0), 8)
    assert close(frame.getpixel((630, 180)), (0, 0, 0), 8)
    assert close(frame.getpixel((320, 10)), GREEN)


def test_time_limit_grows_with_length_and_frame_size() -> None:
    options = RenderOptions()
    # 720p and smaller frames: the measured base rate; larger frames cost proportionally more.
    assert options.timeout_for(10, 320, 180) == 120 + 3 * 10
    assert options.timeout_for(10, 1280, 720) == 120 + 3 * 10
    assert options.timeout_for(10, 3840, 2160) == 120 + 3 * 10 * 9
    assert options.timeout_for(20, 3840, 2160) > options.timeout_for(10, 3840, 2160)
    assert RenderOptions(timeout=5).timeout_for(600, 3840, 2160) == 5


async def test_an_animated_rendition_is_a_still_of_its_first_frame(
    storage: LocalStorage, recording_job: Any, frame_at: Any
) -> None:
    """An animated GIF's ``lg`` rendition is an animated WebP since s29, which ffmpeg 5's WebP
    decoder cannot read: every video with such a photo failed (second outside attacker, s29).
    It fits the box here, so it used to go to ffmpeg as it was."""
    import io

    from PIL import Image

    frames = [Image.new("RGB", (320, 180), colour) for colour in (RED, BLUE)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100)

    async def chunks() -> Any:
        yield buffer.getvalue()

    await storage.put("renditions/owner/gif/lg.webp", chunks(), content_type="image/webp")
    job = recording_job(make_payload(["renditions/owner/gif/lg.webp"], seconds_per_image=1.0))

    result = await VideoRenderer()(job)

    frame = frame_at(storage.local_path(result["output_key"]), 0.5)
    assert close(frame.getpixel((160, 90)), RED)
