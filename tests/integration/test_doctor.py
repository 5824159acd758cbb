"""``salon doctor`` finds orphan objects and missing renditions, and repairs them."""

from __future__ import annotations

from salon.doctor import diagnose
from salon.testing.fixtures import RunningApp, sample_jpeg


async def test_doctor_finds_and_repairs(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    image = (await salon_app.upload(headers, sample_jpeg(1200, 900))).json()
    runtime = salon_app.runtime
    assert (await diagnose(runtime)).healthy

    from salon.domain.images.services import file_chunks  # noqa: F401 - the same path uploads use

    async def chunks():
        yield b"left behind by a crash"

    await runtime.storage.put("originals/orphan/xx/deadbeef", chunks(), content_type="image/jpeg")
    md = (salon_app.data_dir / "media").rglob("md.webp")
    next(iter(md)).unlink()

    report = await diagnose(runtime)
    assert report.orphan_objects == ["originals/orphan/xx/deadbeef"]
    assert report.missing_renditions == [f"{image['id']}: md"]
    assert not report.healthy

    repaired = await diagnose(runtime, repair=True)
    assert repaired.repaired == 2
    after = await diagnose(runtime)
    assert after.healthy, after.as_dict()
    md_again = await salon_app.client.get(image["urls"]["renditions"]["md"], headers=headers)
    assert md_again.status_code == 200 and len(md_again.content) > 1000


async def test_a_rendition_left_short_by_a_crash_is_rebuilt(salon_app: RunningApp) -> None:
    """Renditions are renamed into place without a flush to disk (derived data): a machine
    crash can leave one empty or cut short. Doctor compares the recorded size and rebuilds."""
    headers = await salon_app.login()
    image = (await salon_app.upload(headers, sample_jpeg(1200, 900))).json()
    sm = next(iter((salon_app.data_dir / "media").rglob("sm.webp")))
    lg = next(iter((salon_app.data_dir / "media").rglob("lg.webp")))
    whole = sm.stat().st_size
    sm.write_bytes(b"")  # what a lost page cache leaves of a renamed, unflushed file
    lg.write_bytes(lg.read_bytes()[:100])

    report = await diagnose(salon_app.runtime, repair=True)
    assert report.missing_renditions == [f"{image['id']}: sm, lg"], report.as_dict()
    assert report.repaired == 1
    assert sm.stat().st_size == whole
    assert (await diagnose(salon_app.runtime)).healthy
    again = await salon_app.client.get(image["urls"]["renditions"]["sm"], headers=headers)
    assert again.status_code == 200 and len(again.content) == whole


async def test_doctor_reports_a_missing_original(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    image = (await salon_app.upload(headers)).json()
    async with salon_app.runtime.session_maker() as session:
        from salon.db.models import Image

        row = await session.get(Image, __import__("uuid").UUID(image["id"]))
        key = row.storage_key
    await salon_app.runtime.storage.delete(key)
    report = await diagnose(salon_app.runtime, repair=True)
    assert report.missing_originals == [image["id"]]


async def test_a_videos_sidecar_is_not_an_orphan(salon_app: RunningApp) -> None:
    """The video plugin keeps ``<output>.mp4.result.json`` beside each video: it belongs to the
    video, so doctor leaves it alone; once its video is gone, it is an orphan like any other."""
    import asyncio

    headers = await salon_app.login()
    image = (await salon_app.upload(headers, sample_jpeg(320, 240))).json()
    created = await salon_app.client.post(
        "/api/videos",
        json={"image_ids": [image["id"]], "seconds_per_image": 1.0, "width": 320, "height": 180},
        headers=headers,
    )
    assert created.status_code == 202, created.text
    job_url = f"/api/jobs/{created.json()['job_id']}"
    for _ in range(600):
        job = (await salon_app.client.get(job_url, headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    stored = [info.key async for info in salon_app.runtime.storage.list("videos/")]
    assert any(key.endswith(".mp4.result.json") for key in stored), stored

    report = await diagnose(salon_app.runtime, repair=True)
    assert report.orphan_objects == [] and report.repaired == 0, report.as_dict()
    after = [info.key async for info in salon_app.runtime.storage.list("videos/")]
    assert sorted(after) == sorted(stored)

    async def chunks():
        yield b"{}"

    stray = "videos/00000000-0000-0000-0000-000000000000/gone.mp4.result.json"
    await salon_app.runtime.storage.put(stray, chunks(), content_type="application/json")
    assert (await diagnose(salon_app.runtime)).orphan_objects == [stray]
