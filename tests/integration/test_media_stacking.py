"""Stacked media processors and configured renditions in a running app (issue 16.3).

- A processor written against the documented 0.1 hook and Protocol (no probe, ``register``
  untyped) still works on its own, and as the base of a stack.
- ``SALON_MEDIA=legacy,mono``: the stacked processor's rendition is served and listed, its
  metadata is in the image's; one that fails leaves the image ready without its additions,
  and ``salon doctor --repair`` makes them later.
- A plugin reads an image's bytes (``salon.images.open`` / ``read_bytes``) and has the
  renditions an existing image lacks made under the core's keys
  (``salon.images.refresh_renditions``, the core job ``image.renditions``); its own objects
  under ``salon.storage_prefix`` are not doctor's orphans. A second app on the same data
  folder finds the first one's images; a backfill fires ``image_updated``.
- ``SALON_RENDITIONS`` decides the renditions (sizes, formats, extra names); a name that is
  not one of them is a 404 that lists them; broken settings stop start-up.
"""

from __future__ import annotations

import io
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from PIL import Image
from salon import hookimpl
from salon.doctor import diagnose
from salon.errors import ConfigurationError, ObjectNotFound
from salon.testing import RunningApp, running_app, sample_jpeg

HERE = Path(__file__).resolve().parent


@pytest.fixture
def plugin() -> Iterator[ModuleType]:
    sys.path.insert(0, str(HERE))  # the media pool's spawned workers import it by this name
    try:
        import stacked_media_plugin

        yield stacked_media_plugin
    finally:
        sys.path.remove(str(HERE))


async def test_documented_processor_works_alone(tmp_path: Path, plugin: ModuleType) -> None:
    async with running_app(tmp_path / "d", plugins=[plugin], env={"SALON_MEDIA": "legacy"}) as app:
        assert isinstance(app.runtime.media, plugin.LegacyProcessor), "no stack around one"
        headers = await app.login()
        image = (await app.upload(headers, sample_jpeg(900, 600))).json()
        assert image["status"] == "ready", image
        lg = await app.client.get(image["urls"]["renditions"]["lg"], headers=headers)
        assert lg.status_code == 200 and Image.open(io.BytesIO(lg.content)).size == (900, 600)


async def test_stacked_on_a_documented_processor(tmp_path: Path, plugin: ModuleType) -> None:
    env = {"SALON_MEDIA": "legacy,mono"}
    async with running_app(tmp_path / "d", plugins=[plugin], env=env) as app:
        headers = await app.login()
        image = (await app.upload(headers, sample_jpeg(900, 600, (250, 250, 250)))).json()
        assert sorted(image["urls"]["renditions"]) == ["lg", "md", "mono", "sm"]
        assert image["metadata"] == {"filename": "photo.jpg", "format": "JPEG", "mono_mean": 250}
        mono = await app.client.get(image["urls"]["renditions"]["mono"], headers=headers)
        assert mono.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(mono.content)).mode == "L"

        unknown = await app.client.get(f"/api/images/{image['id']}/renditions/xl", headers=headers)
        assert unknown.status_code == 404
        assert (
            unknown.json()["detail"] == "there is no rendition 'xl'; renditions: sm, md, lg, mono"
        )


async def test_a_failing_stacked_processor_is_repaired_later(
    tmp_path: Path, plugin: ModuleType
) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / plugin.BROKEN).write_text("")
    async with running_app(data, plugins=[plugin], env={"SALON_MEDIA": "legacy,mono"}) as app:
        headers = await app.login()
        image = (await app.upload(headers, sample_jpeg(640, 480))).json()
        assert image["status"] == "ready" and "mono" not in image["urls"]["renditions"]
        url = f"/api/images/{image['id']}/renditions/mono"
        missing = await app.client.get(url, headers=headers)
        assert missing.status_code == 404 and "salon doctor --repair" in missing.json()["detail"]

        (data / plugin.BROKEN).unlink()
        report = await diagnose(app.runtime, repair=True)
        assert report.repaired == 1, report
        assert (await app.client.get(url, headers=headers)).status_code == 200
        again = (await app.client.get(f"/api/images/{image['id']}", headers=headers)).json()
        assert again["metadata"]["mono_mean"] > 0 and again["metadata"]["format"] == "JPEG"


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_bytes_and_renditions_of_an_existing_image(
    tmp_path: Path, plugin: ModuleType
) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / plugin.BROKEN).write_text("")  # uploaded before the stacked processor worked
    env = {"SALON_MEDIA": "legacy,mono"}
    async with running_app(data, plugins=[plugin], env=env) as app:
        salon = app.salon("watermark")
        assert [name for name, _ in salon.media_processors] == ["legacy", "mono"]
        assert isinstance(dict(salon.media_processors)["mono"], plugin.Mono)
        headers = await app.login()
        jpeg = sample_jpeg(900, 600, (200, 120, 40))
        image = (await app.upload(headers, jpeg)).json()
        image_id = image["id"]
        assert image["status"] == "ready" and "mono" not in image["urls"]["renditions"]

        original = await app.call(lambda: salon.images.read_bytes(image_id))
        assert original == jpeg
        lg = await app.call(lambda: salon.images.read_bytes(image_id, rendition="lg"))
        assert Image.open(io.BytesIO(lg)).size == (900, 600)
        with pytest.raises(ObjectNotFound, match="no rendition 'mono'"):
            await app.call(lambda: salon.images.read_bytes(image_id, rendition="mono"))
        with pytest.raises(ObjectNotFound, match="no image"):
            await app.call(lambda: salon.images.read_bytes(image_id, owner_id=uuid.uuid4()))
        with pytest.raises(ValueError, match="no rendition named xl"):
            await app.call(lambda: salon.images.refresh_renditions(image_id, ["xl"]))
        assert (await diagnose(app.runtime)).missing_renditions == [f"{image_id}: mono"]

        (data / plugin.BROKEN).unlink()
        made = await app.call(lambda: salon.images.refresh_renditions(image_id))
        assert made == ["mono"]
        assert await app.call(lambda: salon.images.refresh_renditions(image_id)) == []
        mono = await app.call(lambda: salon.images.read_bytes(image_id, rendition="mono"))
        assert Image.open(io.BytesIO(mono)).mode == "L"
        served = (await app.client.get(f"/api/images/{image_id}", headers=headers)).json()
        assert sorted(served["urls"]["renditions"]) == ["lg", "md", "mono", "sm"]
        assert served["metadata"]["mono_mean"] > 0 and served["metadata"]["format"] == "JPEG"

        # A plugin's own objects live under its prefix: doctor neither counts nor deletes them.
        own = f"{salon.storage_prefix}{image_id}.webp"
        assert own == f"watermark/{image_id}.webp"
        await app.call(lambda: salon.storage.put(own, _chunks(b"mark"), content_type="image/webp"))
        report = await diagnose(app.runtime, repair=True)
        assert report.healthy and report.repaired == 0, report
        assert (await app.call(lambda: salon.storage.stat(own))).size == 4

        # The core job makes what a ready image lacks, or the renditions named, again.
        key = await served_key(app, image_id, "mono")
        await app.call(lambda: app.runtime.storage.delete(key))
        job_id = await app.call(
            lambda: salon.queue.enqueue("image.renditions", {"image_id": image_id})
        )
        job = await app.call(lambda: salon.jobs.wait(job_id, seconds=60, interval=0.1))
        assert job["status"] == "succeeded", job
        assert job["result"] == {"image_id": image_id, "status": "ready", "made": ["mono"]}
        again = {"image_id": image_id, "names": ["sm"]}
        job_id = await app.call(lambda: salon.queue.enqueue("image.renditions", again))
        job = await app.call(lambda: salon.jobs.wait(job_id, seconds=60, interval=0.1))
        assert job["result"]["made"] == ["sm"], job
        assert (await diagnose(app.runtime)).healthy


class Listener:
    """A plugin that keeps what the image events told it (as an indexing plugin would)."""

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.updated: list[tuple[str, list[str], list[str], object]] = []

    @hookimpl
    def image_stored(self, image: dict[str, Any]) -> None:
        self.stored.append(image["id"])

    @hookimpl
    def image_updated(self, image: dict[str, Any], renditions: list[str]) -> None:
        served = sorted(image["urls"]["renditions"])
        self.updated.append((image["id"], renditions, served, image["metadata"].get("mono_mean")))


async def test_a_backfill_in_a_second_app_tells_the_listeners(
    tmp_path: Path, plugin: ModuleType
) -> None:
    """Images uploaded before ``mono`` was stacked, in an app on the same data folder, get it
    later: ``image_updated`` (not ``image_stored`` again) tells the listeners each time, from
    ``refresh_renditions`` (``force=True``: every rendition again) and the core job."""
    data = tmp_path / "d"
    async with running_app(data, plugins=[plugin], env={"SALON_MEDIA": "legacy"}) as app:
        headers = await app.login("before@example.com")
        image_id = (await app.upload(headers, sample_jpeg(640, 480, (90, 90, 90)))).json()["id"]

    listener = Listener()
    env = {"SALON_MEDIA": "legacy,mono"}
    async with running_app(data, plugins=[plugin, listener], env=env) as app:
        salon = app.salon("watermark")
        image = await app.call(lambda: salon.images.get(image_id))
        assert image is not None and "mono" not in image["urls"]["renditions"]  # data kept
        assert await app.call(lambda: salon.images.refresh_renditions(image_id)) == ["mono"]
        everything = ["lg", "md", "mono", "sm"]
        assert listener.updated == [(image_id, ["mono"], everything, 90)]
        assert await app.call(lambda: salon.images.refresh_renditions(image_id)) == []
        assert len(listener.updated) == 1, "nothing stored, nothing fired"

        forced = await app.call(lambda: salon.images.refresh_renditions(image_id, force=True))
        assert sorted(forced) == everything
        assert listener.updated[-1][:2] == (image_id, forced)

        job_id = await app.call(
            lambda: salon.queue.enqueue("image.renditions", {"image_id": image_id, "names": ["sm"]})
        )
        job = await app.call(lambda: salon.jobs.wait(job_id, seconds=60, interval=0.1))
        assert job["result"]["made"] == ["sm"], job
        assert listener.updated[-1] == (image_id, ["sm"], everything, 90)
        assert listener.stored == [] and len(listener.updated) == 3


async def served_key(app: RunningApp, image_id: str, name: str) -> str:
    from salon.db.models import Image as ImageRow

    async def key() -> str:
        async with app.runtime.session_maker() as session:
            row = await session.get(ImageRow, uuid.UUID(image_id))
            assert row is not None
            return str(row.renditions[name]["key"])

    return await app.call(key)


async def test_renditions_are_configuration(tmp_path: Path) -> None:
    env = {"SALON_RENDITIONS": "sm:200,md:400,lg:800:jpeg:85,xl:1600"}
    async with running_app(tmp_path / "d", env=env) as app:
        headers = await app.login()
        image = (await app.upload(headers, sample_jpeg(2000, 1000))).json()
        assert sorted(image["urls"]["renditions"]) == ["lg", "md", "sm", "xl"]
        # The web UI's srcset reads the widths from here, not from the default sizes.
        assert image["rendition_widths"] == {"sm": 200, "md": 400, "lg": 800, "xl": 1600}
        sizes = {}
        for name, url in image["urls"]["renditions"].items():
            response = await app.client.get(url, headers=headers)
            picture = Image.open(io.BytesIO(response.content))
            sizes[name] = (picture.format, picture.size)
        assert sizes == {
            "sm": ("WEBP", (200, 100)),
            "md": ("WEBP", (400, 200)),
            "lg": ("JPEG", (800, 400)),
            "xl": ("WEBP", (1600, 800)),
        }


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SALON_RENDITIONS": "sm:320,md:1024"}, "lg missing; sm, md and lg must stay"),
        ({"SALON_RENDITIONS": "sm:320,md:1024,lg:2048:gif"}, "format must be one of webp"),
        ({"SALON_RENDITIONS": "sm:320,md,lg:2048"}, "write name:long_edge"),
        ({"SALON_MEDIA": "mono"}, "'mono' only adds to another processor's result"),
        ({"SALON_MEDIA": "pillow,legacy"}, "'legacy' is not a stacked media processor"),
        ({"SALON_MEDIA": "pillow,monoo"}, "did you mean 'mono'"),
    ],
)
async def test_broken_media_settings_stop_startup(
    tmp_path: Path, plugin: ModuleType, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        async with running_app(tmp_path / "d", plugins=[plugin], env=env):
            pass
