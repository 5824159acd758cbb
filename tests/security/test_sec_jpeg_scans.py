"""A JPEG that repeats one progressive scan thousands of times (found by the outside attack
after issue 17): libjpeg only warns, so a 187 KB 4000x4000 file with 4000 copies decoded for
23 s in the media worker while every other upload waited. Now a JPEG with more than
``SALON_MAX_JPEG_SCANS`` scans is refused (415) before any pixel is decoded, and leaves
nothing behind; an ordinary progressive JPEG is still accepted."""

from __future__ import annotations

import io

from PIL import Image
from salon.testing.fixtures import RunningApp
from security_support import assert_consistent, scan_bomb_jpeg


async def test_jpeg_with_too_many_scans_is_refused_before_decoding(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    bomb = scan_bomb_jpeg(64, 300)  # small and cheap here: only the scan count matters
    answer = await salon_app.upload(headers, bomb)
    assert answer.status_code == 415, answer.text
    body = answer.json()
    assert body["reason"] == "unsupported_variant"
    assert "scans" in body["detail"] and "256" in body["detail"]
    await assert_consistent(salon_app, images=0)


async def test_ordinary_progressive_jpeg_is_accepted(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 90, 150)).save(buffer, "JPEG", progressive=True)
    answer = await salon_app.upload(headers, buffer.getvalue())
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "ready"
    await assert_consistent(salon_app, images=1)
