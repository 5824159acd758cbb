"""Issue 17.17: HSTS on an https gallery, no CORS wildcard with credentials, titles without
control or bidi characters wherever they are set, and no upstream error text in answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from salon.domain.images.services import clean_title
from salon.errors import ConfigurationError
from salon.runtime import load_settings
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg

SPOOF = "holiday\u202egpj.exe"  # shows as "holidayexe.jpg"


async def test_hsts_when_the_public_url_is_https(tmp_path: Path) -> None:
    env = {"SALON_PUBLIC_URL": "https://photos.example.org"}
    async with running_app(tmp_path / "https", env=env) as app:
        for path in ("/health", "/api/images", "/api/no-such-route", "/login"):
            answer = await app.client.get(path)
            assert answer.headers["strict-transport-security"] == "max-age=31536000", path
    async with running_app(tmp_path / "http") as app:
        answer = await app.client.get("/health")
        assert "strict-transport-security" not in answer.headers


def test_cors_wildcard_is_refused_at_start_up(tmp_path: Path) -> None:
    environ = {"SALON_DATA_DIR": str(tmp_path), "SALON_CORS_ORIGINS": "*"}
    with pytest.raises(ConfigurationError) as caught:
        load_settings(environ)
    assert "cors_origins cannot be '*'" in str(caught.value)
    salon = Path(sys.executable).parent / "salon"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env.update(environ)
    served = subprocess.run(
        [str(salon), "serve", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode != 0
    errors = [line for line in served.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "cors_origins cannot be '*'" in errors[0], served.stderr
    assert "Traceback" not in served.stderr + served.stdout


def test_clean_title_drops_controls_and_bidi() -> None:
    assert clean_title(SPOOF) == "holidaygpj.exe"
    assert clean_title("\u2066a\u2069\u200e\u200fb\u061c\x00\x1b[2J") == "ab[2J"
    assert clean_title(" line\none\ttab\u2028sep ") == "line one tab sep"
    assert (
        clean_title("\U0001f469\u200d\U0001f4bb caf\u00e9")
        == "\U0001f469\u200d\U0001f4bb caf\u00e9"
    )


async def test_titles_are_cleaned_on_every_way_in(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    client = salon_app.client
    uploaded = await salon_app.upload(headers, sample_jpeg(color=(9, 9, 9)), title=SPOOF)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["title"] == "holidaygpj.exe"
    # No title: the file name is the title, cleaned the same way.
    files = {"file": (f"{SPOOF}.jpg", sample_jpeg(color=(8, 80, 8)), "image/jpeg")}
    named = await client.post("/api/images", files=files, headers=headers)
    assert named.status_code == 201, named.text
    assert named.json()["title"] == "holidaygpj.exe"
    # The direct-upload flow (its title comes from the file name).
    photo = sample_jpeg(color=(7, 7, 170))
    intent = await client.post(
        "/api/uploads",
        json={
            "filename": f"{SPOOF}.jpg",
            "content_type": "image/jpeg",
            "size": len(photo),
        },
        headers=headers,
    )
    assert intent.status_code == 201, intent.text
    upload_id = intent.json()["upload_id"]
    sent = await client.post(
        intent.json()["url"], files={"file": (f"{SPOOF}.jpg", photo, "image/jpeg")}, headers=headers
    )
    assert sent.status_code == 204, sent.text
    done = await client.post(f"/api/uploads/{upload_id}/complete", headers=headers)
    assert done.status_code == 201, done.text
    assert done.json()["title"] == "holidaygpj.exe"
    # PATCH.
    image_id = uploaded.json()["id"]
    patched = await client.patch(
        f"/api/images/{image_id}", json={"title": "\u2067evil\u2069\r\nname\x07"}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] == "evil  name"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connections to it are refused


async def test_upstream_errors_are_logged_not_answered(tmp_path: Path) -> None:
    pytest.importorskip("salon_nasa_apod", reason="the APOD plugin is the upstream used here")
    port = _closed_port()
    env = {
        "SALON_APOD_BASE_URL": f"http://127.0.0.1:{port}",
        "SALON_APOD_API_KEY": "DEMO_KEY",
        "SALON_APOD_BACKOFF": "0",
        "SALON_APOD_MAX_RETRIES": "1",
    }
    async with running_app(tmp_path / "data", env=env) as app:
        headers = await app.login()
        answer = await app.client.get(
            "/api/sources/apod/entries", params={"date": "2024-03-01"}, headers=headers
        )
    assert answer.status_code in (502, 503), answer.text
    assert "127.0.0.1" not in answer.text and str(port) not in answer.text, answer.text
    # The source's own public message (SourceError.public_message), never the upstream text.
    assert answer.json()["detail"] == "Could not reach NASA's APOD service; try again later"
