"""An upload recorded with the intake's own statements (``salon.domain.images.recording``, no
ORM flush) is the row the ORM wrote: every column set (``favorite`` false, not NULL, so the
``favorite=false`` listing shows it), in its album, searchable (the index's triggers), counted
for its owner only (other users' cached pages stay), and bytes in the trash come back."""

from __future__ import annotations

import pytest
from salon.testing.fixtures import RunningApp, sample_jpeg

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


async def _ids(app: RunningApp, headers: dict[str, str], **params: str) -> list[str]:
    response = await app.client.get("/api/images", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_an_upload_is_recorded_whole_and_for_its_owner_only(salon_app: RunningApp) -> None:
    alice = await salon_app.login("alice@example.com")
    bob = await salon_app.login("bob@example.com")
    made = await salon_app.client.post("/api/albums", json={"name": "Dunes"}, headers=alice)
    assert made.status_code == 201, made.text
    album = made.json()["id"]
    await _ids(salon_app, bob)  # bob's first page, cached where caches are on
    tracker = salon_app.runtime.changes
    versions = None
    if tracker is not None and tracker.live:
        me = (await salon_app.client.get("/api/me", headers=bob)).json()["id"]
        versions = tracker.version_for(("images", me))
    sent = await salon_app.client.post(
        "/api/images",
        files={"file": ("erg-chebbi.jpg", sample_jpeg(64, 48, (200, 150, 90)), "image/jpeg")},
        data={"album_id": album},
        headers=alice,
    )
    assert sent.status_code == 201, sent.text
    image = sent.json()
    assert image["favorite"] is False and image["trashed_at"] is None
    assert image["title"] == "erg-chebbi" and image["metadata"]["filename"] == "erg-chebbi.jpg"
    assert await _ids(salon_app, alice, favorite="false") == [image["id"]]
    assert await _ids(salon_app, alice, album_id=album) == [image["id"]]
    assert await _ids(salon_app, alice, q="chebbi") == [image["id"]]
    assert await _ids(salon_app, bob) == []
    if versions is not None:
        assert tracker is not None
        assert tracker.version_for(("images", me)) == versions, "alice's upload moved bob's pages"


async def test_bytes_in_the_trash_come_back_when_uploaded_again(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    data = sample_jpeg(64, 48, (20, 90, 160))
    first = await salon_app.upload(headers, data, wait=False)
    assert first.status_code == 201, first.text
    image_id = first.json()["id"]
    trashed = await salon_app.client.delete(f"/api/images/{image_id}", headers=headers)
    assert trashed.status_code == 204, trashed.text
    assert await _ids(salon_app, headers) == []
    again = await salon_app.upload(headers, data, wait=False)
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True and again.json()["id"] == image_id
    assert await _ids(salon_app, headers) == [image_id]
