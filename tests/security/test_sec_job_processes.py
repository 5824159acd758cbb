"""Issue 17, attack report 2 items 2 and 3: ffmpeg and the media workers a real ``salon serve``
starts run at a lower CPU priority and never outlive it. Before the fix, SIGTERM to granian left
ffmpeg rendering at full priority (parent 1) for minutes, with the media workers and the
job's /tmp/salon-video-* folder, and a restarted job ran beside the orphan."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from serve_support import salon_serve, sign_up

pytestmark = pytest.mark.skipif(
    not Path("/proc").is_dir(), reason="reads processes from /proc (Linux only)"
)

STOP_BOUND = 40.0  # seconds after SIGTERM by which nothing the server started may run


def _png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (shade, 90, 200 - shade)).save(out, "PNG")
    return out.getvalue()


def _stat(pid: int) -> list[str] | None:
    """Fields after the command name of /proc/<pid>/stat; None once gone or a zombie."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else fields


def _descendants(root: int) -> dict[int, str]:
    """pid -> command name of every live process under ``root``."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            text = (entry / "stat").read_text()
            parent = int(text.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
            names[int(entry.name)] = text.split("(", 1)[1].rsplit(")", 1)[0]
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found[pid] = names.get(pid, "?")
        todo.extend(children.get(pid, []))
    return found


def _renders(pid: int) -> bool:
    """The rendering ffmpeg (not the short ``ffmpeg -version`` probe before it)."""
    with contextlib.suppress(OSError):
        return b"video.mp4" in (Path("/proc") / str(pid) / "cmdline").read_bytes()
    return False


async def _wait_for_ffmpeg(server_pid: int, seconds: float) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for pid, name in _descendants(server_pid).items():
            if name.startswith("ffmpeg") and _renders(pid):
                return pid
        await asyncio.sleep(0.2)
    pytest.fail(f"no ffmpeg under the server within {seconds:.0f} s")


async def test_sigterm_leaves_no_ffmpeg_media_worker_or_scratch_folder(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with salon_serve(tmp_path / "data", environ={"TMPDIR": str(scratch)}) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=60) as client:
            headers = await sign_up(client, "render")
            ids = []
            for shade in range(0, 120, 10):  # 12 images; their renditions start media workers
                sent = await client.post(
                    "/api/images?wait=true",
                    headers=headers,
                    files={"file": (f"{shade}.png", _png(shade), "image/png")},
                )
                assert sent.status_code == 201, sent.text
                ids.append(sent.json()["id"])
            # Minutes of ffmpeg at 1080p: far longer than the test waits.
            video = {"image_ids": ids, "seconds_per_image": 30, "width": 1920, "height": 1080}
            queued = await client.post("/api/videos", headers=headers, json=video)
            assert queued.status_code == 202, queued.text
        ffmpeg = await _wait_for_ffmpeg(served.process.pid, 60)
        started = _descendants(served.process.pid)
        assert any(n.startswith("python") or "spawn" in n for n in started.values()), started
        stat = _stat(ffmpeg)
        assert stat is not None and int(stat[16]) >= 10, f"ffmpeg runs at nice {stat and stat[16]}"
        assert list(scratch.glob("salon-video-*")), "the render's scratch folder is not in TMPDIR"

        os.kill(served.process.pid, signal.SIGTERM)  # granian's main process only, as systemd
        stopped = time.monotonic()
        while time.monotonic() - stopped < STOP_BOUND:
            alive = {pid: name for pid, name in started.items() if _stat(pid) is not None}
            if not alive and served.process.poll() is not None:
                break
            await asyncio.sleep(0.5)
        alive = {pid: name for pid, name in started.items() if _stat(pid) is not None}
        for pid in alive:  # ours: do not leave them to the next test
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert alive == {}, f"still running {STOP_BOUND:.0f} s after SIGTERM: {alive}"
        assert served.process.poll() is not None, "salon serve did not exit"
        assert list(scratch.glob("salon-video-*")) == [], "the render's scratch folder is left"
