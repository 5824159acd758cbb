"""Locating ffmpeg: imageio-ffmpeg's binary, else the system's, else a clear error."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import pytest
from salon.errors import ConfigurationError
from salon_ffmpeg_video import FfmpegNotFound, find_ffmpeg, render_video
from salon_ffmpeg_video.binary import probe_binary


def test_the_bundled_binary_is_found() -> None:
    path = find_ffmpeg()
    assert Path(path).is_file()
    assert path == imageio_ffmpeg.get_ffmpeg_exe()


def test_no_ffmpeg_anywhere_raises_a_configuration_error_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def nothing() -> str:
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", nothing)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FfmpegNotFound) as caught:
        find_ffmpeg()
    assert isinstance(caught.value, ConfigurationError)
    assert "imageio-ffmpeg" in str(caught.value)
    assert "apt-get install ffmpeg" in str(caught.value)


async def test_a_binary_without_libx264_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\necho 'ffmpeg version 0.0-no-encoders'\n")
    fake.chmod(0o755)
    with pytest.raises(FfmpegNotFound, match="lacks libx264"):
        await probe_binary(str(fake))


def test_the_handler_carries_the_readiness_check() -> None:
    assert callable(render_video.check)  # type: ignore[attr-defined]
