"""The image API through the real app: upload, list, read, download, favorite, delete."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from salon.testing.fixtures import RunningApp, sample_jpeg

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


async def test_upload_makes_renditions_and_lists(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    response = await salon_app.upload(headers, sample_jpeg(3000, 2000), title="Sunset")
    assert response.status_code == 201, response.text
    image = response.json()
    assert image["title"] == "Sunset"
    assert (image["width"], image["height"]) == (3000, 2000)
    assert image["content_type"] == "image/jpeg"
    assert len(image["sha256"]) == 64
    assert image["placeholder"]
    assert set(image["urls"]["renditions"]) == {"sm", "md", "lg"}

    listing = (await salon_app.client.get("/api/images", headers=headers)).json()
    assert [item["id"] for item in listing["items"]] == [image["id"]]
    assert listing["next_cursor"] is None

    for name, edge in (("sm", 320), ("md", 1024), ("lg", 2048)):
        rendition = await salon_app.client.get(image["urls"]["renditions"][name], headers=headers)
        assert rendition.status_code == 200
        assert rendition.headers["content-type"] == "image/webp"
        decoded = Image.open(io.BytesIO(rendition.content))
        assert max(decoded.size) == edge
        assert "immutable" in rendition.headers["cache-control"]

    original = await salon_app.client.get(image["urls"]["original"], headers=headers)
    assert original.status_code == 200
    import hashlib

    assert hashlib.sha256(original.content).hexdigest() == image["sha256"]
    etag = original.headers["etag"]
    again = await salon_app.client.get(
        image["urls"]["original"], headers={**headers, "If-None-Match": etag}
    )
    assert again.status_code == 304


async def test_same_bytes_twice_are_stored_once(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    data = sample_jpeg(color=(1, 2, 3))
    first = await salon_app.upload(headers, data)
    second = await salon_app.upload(headers, data)
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    listing = (await salon_app.client.get("/api/images", headers=headers)).json()
    assert len(listing["items"]) == 1


async def test_keyset_pagination_walks_every_image_once(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    ids = set()
    for i in range(7):
        response = await salon_app.upload(headers, sample_jpeg(64, 48, (i * 30, 10, 10)))
        ids.add(response.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await salon_app.client.get("/api/images", params=params, headers=headers)).json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 7 and set(seen) == ids


async def test_other_users_image_answers_404_like_a_missing_one(salon_app: RunningApp) -> None:
    owner = await salon_app.login()
    other = await salon_app.login()
    image = (await salon_app.upload(owner)).json()
    for path in ("", "/original", "/renditions/sm"):
        response = await salon_app.client.get(f"/api/images/{image['id']}{path}", headers=other)
        assert response.status_code == 404, path
    missing = await salon_app.client.get(
        "/api/images/00000000-0000-0000-0000-000000000000", headers=other
    )
    assert missing.status_code == 404
    assert (
        await salon_app.client.delete(f"/api/images/{image['id']}", headers=other)
    ).status_code == 404
    assert (await salon_app.client.get("/api/images", headers=other)).json()["items"] == []


async def test_favorite_patch_and_delete(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    first = (await salon_app.upload(headers, sample_jpeg(color=(9, 9, 9)))).json()
    second = (await salon_app.upload(headers, sample_jpeg(color=(90, 9, 9)))).json()
    fav = await salon_app.client.put(f"/api/images/{first['id']}/favorite", headers=headers)
    assert fav.status_code == 200 and fav.json()["favorite"] is True
    favorites = (
        await salon_app.client.get("/api/images", params={"favorite": "true"}, headers=headers)
    ).json()
    assert [i["id"] for i in favorites["items"]] == [first["id"]]
    patched = await salon_app.client.patch(
        f"/api/images/{second['id']}", json={"title": "Renamed"}, headers=headers
    )
    assert patched.json()["title"] == "Renamed"
    unfav = await salon_app.client.delete(f"/api/images/{first['id']}/favorite", headers=headers)
    assert unfav.json()["favorite"] is False

    storage_root = salon_app.data_dir / "media"
    before = {p for p in storage_root.rglob("*") if p.is_file()}
    deleted = await salon_app.client.delete(
        f"/api/images/{second['id']}", params={"permanent": "true"}, headers=headers
    )
    assert deleted.status_code == 204
    after = {p for p in storage_root.rglob("*") if p.is_file()}
    assert len(before - after) == 4  # the original and its three renditions
    gone = await salon_app.client.get(f"/api/images/{second['id']}", headers=headers)
    assert gone.status_code == 404
