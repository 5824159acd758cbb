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
