"""Issue 16.9: Salon as a user gets it. ``uv build`` makes wheels of the core, two built-in
plugins (nasa_apod, ffmpeg_video) and examples/salon-example-plugin into a temp folder; a NEW
virtual environment outside the checkout installs only those wheels (dependencies pinned to the
project venv's versions so uv takes them from its cache); then ``salon plugins`` lists them and
``salon serve`` answers /health and serves the plugins' own pages and static files from the
installed wheels (their package data). Budget: ~90 s with a warm uv cache."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECTS = {
    "salon": ROOT / "core",
    "salon_nasa_apod": ROOT / "plugins" / "nasa_apod",
    "salon_ffmpeg_video": ROOT / "plugins" / "ffmpeg_video",
    "salon_example_plugin": ROOT / "examples" / "salon-example-plugin",
}


def _uv() -> str | None:
    local = ROOT / ".tools" / "bin" / "uv"
    return shutil.which("uv") or (str(local) if local.exists() else None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_wheels_install_and_serve_outside_the_checkout(tmp_path: Path) -> None:
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (neither on PATH nor in .tools/bin): cannot build wheels")
    assert not tmp_path.is_relative_to(ROOT), "the venv must live outside the checkout"
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    dist = tmp_path / "dist"
    for project in PROJECTS.values():
        subprocess.run(
            [uv, "build", "-q", "--wheel", "--out-dir", str(dist), str(project)],
            env=env,
            check=True,
            timeout=120,
        )
    wheels = sorted(dist.glob("*.whl"))
    assert len(wheels) == len(PROJECTS), wheels
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], env=env, check=True)
    frozen = subprocess.run(
        [uv, "pip", "freeze", "--python", sys.executable],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    pins = [
        line
        for line in frozen.splitlines()
        if line and not line.startswith(("-e", "salon")) and " @ " not in line
    ]
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    install = [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    install += ["-c", str(constraints), *map(str, wheels)]
    result = None
    for attempt in (["--offline"], []):  # the cache usually suffices; else ask the index
        result = subprocess.run([*install, *attempt], env=env, capture_output=True, text=True)
        if result.returncode == 0:
            break
    assert result is not None
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-4:])
        pytest.skip(f"could not install the wheels into a fresh venv (no index?): {tail}")

    data = tmp_path / "data"
    data.mkdir()
    run_env = {k: v for k, v in env.items() if not k.startswith("SALON_")}
    run_env.update(
        SALON_DATA_DIR=str(data),
        SALON_SECRET_KEY="wheel-test-" + "k" * 32,
        SALON_CONFIG=str(data / "absent.toml"),
    )
    salon = str(venv / "bin" / "salon")
    # Imported from the venv's site-packages, not from this checkout.
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import salon; print(salon.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=data,
        env=run_env,
    ).stdout
    assert where.startswith(str(venv)), where
    listed = subprocess.run(
        [salon, "plugins", "--json"], env=run_env, cwd=data, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    names = {p["name"] for p in json.loads(listed.stdout)["plugins"]}
    assert {"nasa_apod", "ffmpeg_video", "example", "salon.defaults.local_storage"} <= names, names
    upgraded = subprocess.run([salon, "db", "upgrade"], env=run_env, cwd=data, capture_output=True)
    assert upgraded.returncode == 0, upgraded.stderr

    port = _free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [salon, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=run_env,
            cwd=data,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline, status = time.monotonic() + 60, None
            while time.monotonic() < deadline and status != 200:
                if server.poll() is not None:
                    pytest.fail("salon serve exited: " + log_path.read_text()[-2000:])
                try:
                    status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code
                except httpx.TransportError:
                    time.sleep(0.3)
            assert status == 200, log_path.read_text()[-2000:]
            # The plugin's page, template and static files came with its wheel (package data).
            base = f"http://127.0.0.1:{port}"
            script = httpx.get(f"{base}/static/plugins/nasa_apod/apod.js", timeout=5)
            assert script.status_code == 200 and "/api/sources/" in script.text
            # A page only looks for a session cookie (its data comes from the API): render it.
            page = httpx.get(f"{base}/apod", timeout=5, cookies={"salon_csrf": "x"})
            assert page.status_code == 200, page.text[:500]
            assert "NASA Astronomy Picture of the Day" in page.text
            video = httpx.get(f"{base}/video", timeout=5, cookies={"salon_csrf": "x"})
            assert video.status_code == 200 and "Video maker" in video.text
            assert '<a href="/video"' in video.text and '<a href="/apod"' in video.text
            css = httpx.get(f"{base}/static/plugins/ffmpeg_video/video.css", timeout=5)
            assert css.status_code == 200 and ".video-list" in css.text
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    elapsed = time.monotonic() - started
    print(f"wheels built, installed and served in {elapsed:.1f} s")
    assert elapsed < 120, f"took {elapsed:.0f} s (budget ~90 s; 10 s on a warm cache)"
