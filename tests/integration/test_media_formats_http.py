"""Issue 20 media through the HTTP upload route: HEIC/TIFF accepted and kept byte for byte,
tRNS PNGs rendered with transparency."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from salon.testing.contracts.media import make_rgb_trns_png
from salon.testing.fixtures import RunningApp, running_app


@pytest.fixture
async def app(tmp_path: Path):
    async with running_app(tmp_path / "data") as running:
        yield running


def _heic(orientation: int = 6) -> bytes:
    im = Image.new("RGB", (400, 200), (255, 0, 0))
    im.paste((0, 0, 255), (200, 0, 400, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, "HEIF", exif=exif.tobytes(), quality=90)
    return buf.getvalue()


async def _post(app: RunningApp, headers: dict[str, str], name: str, data: bytes, ctype: str):
    return await app.client.post(
        "/api/images",
        params={"wait": "true"},
        files={"file": (name, data, ctype)},
        headers=headers,
    )


async def _get(app: RunningApp, headers: dict[str, str], path: str) -> bytes:
    response = await app.client.get(path, headers=headers, follow_redirects=True)
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("ctype", ["image/heic", "application/octet-stream"])
async def test_heic_upload_is_upright_and_original_kept(app: RunningApp, ctype: str) -> None:
    headers = await app.login()
    data = _heic()
    response = await _post(app, headers, "IMG_0001.HEIC", data, ctype)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["content_type"] == "image/heic"
    assert (body["width"], body["height"]) == (200, 400)
    assert await _get(app, headers, f"/api/images/{body['id']}/original") == data
    rendition = await _get(app, headers, f"/api/images/{body['id']}/renditions/md")
    im = Image.open(io.BytesIO(rendition))
    assert im.format == "WEBP" and im.height > im.width
    r, _g, b = im.convert("RGB").getpixel((im.width // 2, im.height // 5))
    assert r > 200 and b < 60, "red on top: the container's rotation was applied"


async def test_tiff_upload(app: RunningApp) -> None:
    headers = await app.login()
    buf = io.BytesIO()
    Image.new("RGB", (300, 200), (0, 128, 0)).save(buf, "TIFF", compression="tiff_lzw")
    response = await _post(app, headers, "scan.tif", buf.getvalue(), "image/tiff")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/tiff"
    original = await _get(app, headers, f"/api/images/{response.json()['id']}/original")
    assert original == buf.getvalue()


async def test_rgb_trns_png_rendition_is_transparent(app: RunningApp, tmp_path: Path) -> None:
    headers = await app.login()
    data = make_rgb_trns_png(tmp_path / "key.png").read_bytes()
    response = await _post(app, headers, "key.png", data, "image/png")
    assert response.status_code == 201, response.text
    for name in ("sm", "md", "lg"):
        raw = await _get(app, headers, f"/api/images/{response.json()['id']}/renditions/{name}")
        im = Image.open(io.BytesIO(raw))
        assert im.mode == "RGBA"
        assert im.getpixel((im.width // 5, im.height // 2))[3] < 20, "the key colour is hidden"
