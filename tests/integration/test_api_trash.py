"""The trash through the real app: DELETE moves an image to the trash (out of listings, albums,
favorites and share links at once), restore brings it back, ``?permanent=true`` and emptying
the trash remove rows and objects now, and the worker's purge removes them SALON_TRASH_DAYS
after the delete, not a second before (the clock is the purge's ``now`` or an aged row)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import anyio
import pytest
from salon.db.models import Image
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg
from salon.worker import Worker, WorkerConfig
from sqlalchemy import update

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


def stored(app: RunningApp) -> set[Path]:
    return {p for p in (app.data_dir / "media").rglob("*") if p.is_file()}


async def ids(app: RunningApp, headers: dict[str, str], **params: str) -> list[str]:
    response = await app.client.get("/api/images", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def purge(app: RunningApp, now: dt.datetime) -> int:
    """The purge at ``now``, on the app's own event loop (its database pool lives there)."""
    service = app.runtime.services.images
    portal = app.client.blocking_portal
    removed: int = await anyio.to_thread.run_sync(
        lambda: portal.call(lambda: service.purge_trash(now=now))
    )
    return removed


async def test_trash_hides_everywhere_at_once_and_restore_brings_back(
    salon_app: RunningApp,
) -> None:
    headers = await salon_app.login()
    keep = (await salon_app.upload(headers, sample_jpeg(color=(10, 200, 10)))).json()["id"]
    gone = (await salon_app.upload(headers, sample_jpeg(color=(200, 10, 10)))).json()["id"]
    await salon_app.client.put(f"/api/images/{gone}/favorite", headers=headers)
    album = (await salon_app.client.post("/api/albums", json={"name": "T"}, headers=headers)).json()
    added = await salon_app.client.post(
        f"/api/albums/{album['id']}/images", json={"image_ids": [keep, gone]}, headers=headers
    )
    assert added.status_code < 300, added.text
    share = await salon_app.client.post(f"/api/images/{gone}/share", json={}, headers=headers)
    token = share.json()["token"]
    assert (await salon_app.client.get(f"/s/{token}")).status_code == 200
    # Fill the read cache first: a cached page must not outlive the delete.
    assert set(await ids(salon_app, headers)) == {keep, gone}
    files = stored(salon_app)

    deleted = await salon_app.client.delete(f"/api/images/{gone}", headers=headers)
    assert deleted.status_code == 204
    assert await ids(salon_app, headers) == [keep]
    assert await ids(salon_app, headers, favorite="true") == []
    assert await ids(salon_app, headers, album_id=album["id"]) == [keep]
    albums = (await salon_app.client.get("/api/albums", headers=headers)).json()
    assert [a["image_count"] for a in albums if a["id"] == album["id"]] == [1]
    # The link's photo is gone (410) while it is in the trash, back once restored.
    assert (await salon_app.client.get(f"/s/{token}")).status_code == 410
    assert (await salon_app.client.get(f"/s/{token}/renditions/sm")).status_code == 410
    assert await ids(salon_app, headers, trashed="true") == [gone]
    one = (await salon_app.client.get(f"/api/images/{gone}", headers=headers)).json()
    assert one["trashed_at"] is not None
    # A trashed photo gets no new link: it would be dead from the start (user report 3).
    refused = await salon_app.client.post(f"/api/images/{gone}/share", json={}, headers=headers)
    assert refused.status_code == 409 and "trash" in refused.json()["detail"], refused.text
    assert stored(salon_app) == files  # nothing is lost before its time

    restored = await salon_app.client.post(f"/api/images/{gone}/restore", headers=headers)
    assert restored.status_code == 200 and restored.json()["trashed_at"] is None
    assert set(await ids(salon_app, headers)) == {keep, gone}
    assert await ids(salon_app, headers, favorite="true") == [gone]
    assert await ids(salon_app, headers, trashed="true") == []
    assert (await salon_app.client.get(f"/s/{token}")).status_code == 200


async def test_purge_keeps_trash_until_its_time_then_removes_rows_and_objects(
    salon_app: RunningApp,
) -> None:
    headers = await salon_app.login()
    image = (await salon_app.upload(headers, sample_jpeg(color=(1, 99, 1)))).json()
    before = stored(salon_app)
    assert len(before) == 4  # original and three renditions
    await salon_app.client.delete(f"/api/images/{image['id']}", headers=headers)
    trashed_at = dt.datetime.fromisoformat(
        (await salon_app.client.get(f"/api/images/{image['id']}", headers=headers)).json()[
            "trashed_at"
        ]
    )
    assert salon_app.runtime.core.trash_days == 30
    just_before = trashed_at + dt.timedelta(days=30) - dt.timedelta(seconds=1)
    assert await purge(salon_app, just_before) == 0
    assert stored(salon_app) == before
    assert await ids(salon_app, headers, trashed="true") == [image["id"]]

    assert await purge(salon_app, trashed_at + dt.timedelta(days=30)) == 1
    assert stored(salon_app) == set()
    gone = await salon_app.client.get(f"/api/images/{image['id']}", headers=headers)
    assert gone.status_code == 404


async def age(app: RunningApp, trashed_at: dt.datetime, image_id: str) -> None:
    """Set when an image was trashed, on the app's own event loop."""

    async def write() -> None:
        async with app.runtime.session_maker() as session:
            await session.execute(
                update(Image).where(Image.id == uuid.UUID(image_id)).values(trashed_at=trashed_at)
            )
            await session.commit()

    portal = app.client.blocking_portal
    await anyio.to_thread.run_sync(lambda: portal.call(write))


async def test_worker_purges_expired_trash_periodically(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    old = (await salon_app.upload(headers, sample_jpeg(color=(5, 5, 99)))).json()["id"]
    young = (await salon_app.upload(headers, sample_jpeg(color=(99, 5, 5)))).json()["id"]
    for image_id in (old, young):
        await salon_app.client.delete(f"/api/images/{image_id}", headers=headers)
    # Age one row past the trash time, as if deleted 31 days ago; the other is 29 days old.
    now = dt.datetime.now(dt.UTC)
    for image_id, days in ((old, 31), (young, 29)):
        await age(salon_app, now - dt.timedelta(days=days), image_id)
    worker = Worker.from_runtime(salon_app.runtime, WorkerConfig(upload_cleanup_interval=3600))
    portal = salon_app.client.blocking_portal
    await anyio.to_thread.run_sync(lambda: portal.call(worker._maybe_purge_trash))
    assert worker.trash_purged == 1
    assert await ids(salon_app, headers, trashed="true") == [young]
    assert len(stored(salon_app)) == 4  # the young one's files only
    # Within the interval the worker does not purge again.
    await age(salon_app, now - dt.timedelta(days=40), young)
    await anyio.to_thread.run_sync(lambda: portal.call(worker._maybe_purge_trash))
    assert worker.trash_purged == 1


async def test_permanent_delete_empty_trash_and_bulk(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    made = [
        (await salon_app.upload(headers, sample_jpeg(color=(i * 40, 3, 3)))).json()["id"]
        for i in range(4)
    ]
    now_gone = await salon_app.client.delete(
        f"/api/images/{made[0]}", params={"permanent": "true"}, headers=headers
    )
    assert now_gone.status_code == 204
    assert len(stored(salon_app)) == 12
    assert (
        await salon_app.client.get(f"/api/images/{made[0]}", headers=headers)
    ).status_code == 404

    bulk = await salon_app.client.post(
        "/api/images/bulk", json={"action": "favorite", "image_ids": made[1:]}, headers=headers
    )
    assert bulk.status_code == 200 and bulk.json()["count"] == 3
    assert set(await ids(salon_app, headers, favorite="true")) == set(made[1:])
    bulk = await salon_app.client.post(
        "/api/images/bulk", json={"action": "trash", "image_ids": made[1:3]}, headers=headers
    )
    assert bulk.status_code == 200
    assert await ids(salon_app, headers) == [made[3]]
    assert set(await ids(salon_app, headers, trashed="true")) == set(made[1:3])
    bulk = await salon_app.client.post(
        "/api/images/bulk", json={"action": "restore", "image_ids": [made[1]]}, headers=headers
    )
    assert set(await ids(salon_app, headers)) == {made[1], made[3]}

    emptied = await salon_app.client.delete("/api/images/trash", headers=headers)
    assert emptied.status_code == 200 and emptied.json()["count"] == 1
    assert await ids(salon_app, headers, trashed="true") == []
    assert len(stored(salon_app)) == 8

    # Bytes uploaded again while in the trash come back out of it.
    await salon_app.client.delete(f"/api/images/{made[3]}", headers=headers)
    again = await salon_app.upload(headers, sample_jpeg(color=(120, 3, 3)))
    assert again.status_code == 200 and again.json()["id"] == made[3]
    assert made[3] in await ids(salon_app, headers)


async def test_bulk_bad_input_is_4xx_and_changes_nothing(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    mine = (await salon_app.upload(headers, sample_jpeg(color=(7, 70, 7)))).json()["id"]
    other = await salon_app.login()
    theirs = (await salon_app.upload(other, sample_jpeg(color=(70, 7, 7)))).json()["id"]
    cases = [
        ({"action": "explode", "image_ids": [mine]}, 400, "action must be one of"),
        ({"action": "trash", "image_ids": []}, 400, "must not be empty"),
        ({"action": "trash", "image_ids": ["nope"]}, 400, "must be a UUID"),
        ({"action": "trash", "image_ids": [mine, theirs]}, 404, "not found"),
        ({"action": "trash"}, 400, "image_ids"),
    ]
    for body, status, message in cases:
        response = await salon_app.client.post("/api/images/bulk", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert message in response.text, response.text
    assert await ids(salon_app, headers) == [mine]
    assert await ids(salon_app, other) == [theirs]
    # Another user's image cannot be trashed or restored by id either.
    assert (
        await salon_app.client.delete(f"/api/images/{theirs}", headers=headers)
    ).status_code == 404
    restore = await salon_app.client.post(f"/api/images/{theirs}/restore", headers=headers)
    assert restore.status_code == 404


async def test_trash_days_zero_deletes_at_once(tmp_path: Path, salon_database: str) -> None:
    env = {"SALON_TRASH_DAYS": "0"}
    async with running_app(tmp_path / "d", database_url=salon_database, env=env) as app:
        headers = await app.login()
        image = (await app.upload(headers, sample_jpeg(color=(3, 3, 3)))).json()["id"]
        assert (await app.client.delete(f"/api/images/{image}", headers=headers)).status_code == 204
        assert stored(app) == set()
        assert (await app.client.get(f"/api/images/{image}", headers=headers)).status_code == 404
