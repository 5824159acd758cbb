"""The example in a real app: SALON_MEDIA=pillow,avif_phash, an upload, the AVIF rendition
served over HTTP and the hash in the image's metadata. The plugin is installed (a workspace
member), so Salon finds it by its entry point, as it would a plugin from PyPI."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from salon.testing import running_app
from salon_avif_phash import AvifPhash, hamming

STACK = {"SALON_MEDIA": "pillow,avif_phash"}


def _jpeg(size: tuple[int, int] = (1600, 1200), quality: int = 90) -> bytes:
    im = Image.effect_mandelbrot(size, (-2.0, -1.2, 1.0, 1.2), 80)
    colour = Image.merge("RGB", (im, im.rotate(180), im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buffer = io.BytesIO()
    colour.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


async def test_upload_gets_an_avif_rendition_and_a_phash(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", env=STACK) as app:
        assert [s.name for s in app.runtime.renditions] == ["sm", "md", "lg", "avif"]
        headers = await app.login()
        created = await app.upload(headers, _jpeg(), title="mandelbrot")
        assert created.status_code == 201, created.text
        image = created.json()
        assert image["status"] == "ready"
        assert sorted(image["urls"]["renditions"]) == ["avif", "lg", "md", "sm"]
        avif = await app.client.get(image["urls"]["renditions"]["avif"], headers=headers)
        assert avif.status_code == 200, avif.text
        assert avif.headers["content-type"] == "image/avif"
        served = Image.open(io.BytesIO(avif.content))
        assert (served.format, served.size) == ("AVIF", (1600, 1200))
        phash = image["metadata"]["phash"]
        assert len(phash) == 16 and int(phash, 16) > 0
        # The base's own metadata is still there: the stacked processor only adds.
        assert image["metadata"]["format"] == "JPEG"

        # The same picture recompressed smaller: a different upload with a near hash.
        again = await app.upload(headers, _jpeg((800, 600), quality=50), title="smaller")
        assert hamming(again.json()["metadata"]["phash"], phash) <= 6

        missing = await app.client.get(
            f"/api/images/{image['id']}/renditions/webp-xl", headers=headers
        )
        assert missing.status_code == 404
        assert "avif" in missing.json()["detail"], "the answer lists the renditions there are"


async def test_without_the_stack_it_is_offered_but_idle(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        assert "avif_phash" in app.runtime.registry.names("media")
        assert [s.name for s in app.runtime.renditions] == ["sm", "md", "lg"]
        headers = await app.login()
        image = (await app.upload(headers, _jpeg((400, 300)))).json()
        assert "phash" not in image["metadata"] and "avif" not in image["urls"]["renditions"]


def test_the_processor_pickles_for_worker_processes() -> None:
    import pickle

    clone = pickle.loads(pickle.dumps(AvifPhash()))
    assert clone.renditions == AvifPhash().renditions
