"""Share links: their owner lists and revokes them, a link reveals only what its owner chose,
and its pictures stop the moment it expires or is revoked (no signed /media/ or presigned URL
is ever handed out through a share). The real app, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from salon.db.models import ShareLink
from salon.testing.fixtures import RunningApp, sample_jpeg
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

PRIVATE = ("title", "taken_at", "content_type", "size", "sha256")


@asynccontextmanager
async def database(url: str) -> AsyncIterator[AsyncSession]:
    """A session of our own: the app's engine lives on the test client's event loop."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            yield session
    finally:
        await engine.dispose()


async def _image(app: RunningApp, headers: dict[str, str]) -> dict[str, Any]:
    files = {"file": ("IMG_2041 at 12 Elm Street.jpg", sample_jpeg(640, 480), "image/jpeg")}
    # Renditions in the answer: the share's picture URLs are checked at once.
    response = await app.client.post("/api/images?wait=true", files=files, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _share(
    app: RunningApp, headers: dict[str, str], image_id: str, **body: Any
) -> dict[str, Any]:
    response = await app.client.post(f"/api/images/{image_id}/share", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_link_shows_only_what_its_owner_chose(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    image = await _image(salon_app, headers)
    assert "Elm Street" in image["title"]  # the file name became the title

    plain = await _share(salon_app, headers, image["id"])
    assert plain["show"] == []
    shown = (await salon_app.client.get(f"/s/{plain['token']}")).json()
    assert all(shown[field] is None for field in PRIVATE), shown
    assert "Elm Street" not in str(shown)
    assert "created_at" not in shown and "metadata" not in shown
    assert shown["width"] == 640 and shown["urls"]["renditions"]

    chosen = await _share(
        salon_app, headers, image["id"], show=["title", "taken_at", "file", "title"]
    )
    assert chosen["show"] == ["file", "taken_at", "title"]
    full = (await salon_app.client.get(f"/s/{chosen['token']}")).json()
    assert full["title"] == image["title"]
    assert (full["size"], full["sha256"]) == (image["size"], image["sha256"])

    for bad in ({"show": ["owner_email"]}, {"show": "title"}):
        refused = await salon_app.client.post(
            f"/api/images/{image['id']}/share", json=bad, headers=headers
        )
        assert refused.status_code == 400, refused.text


async def test_owners_list_and_revoke_their_links(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    stranger = await salon_app.login()
    image = await _image(salon_app, headers)
    first = await _share(salon_app, headers, image["id"], expires_in=3600)
    second = await _share(salon_app, headers, image["id"], show=["title"])

    listed = (await salon_app.client.get("/api/shares", headers=headers)).json()
    assert [item["id"] for item in listed] == [second["id"], first["id"]]
    assert listed[0]["image_id"] == image["id"] and listed[0]["show"] == ["title"]
    assert not any(item["expired"] for item in listed)
    assert "token" not in listed[0] and first["token"] not in str(listed)
    assert (await salon_app.client.get("/api/shares", headers=stranger)).json() == []
    assert (await salon_app.client.get("/api/shares")).status_code == 401

    path = f"/api/shares/{first['id']}"
    assert (await salon_app.client.delete(path, headers=stranger)).status_code == 404
    assert (await salon_app.client.get(f"/s/{first['token']}")).status_code == 200
    assert (await salon_app.client.delete(path, headers=headers)).status_code == 204
    assert (await salon_app.client.get(f"/s/{first['token']}")).status_code == 404
    assert (await salon_app.client.delete(path, headers=headers)).status_code == 404
    assert (await salon_app.client.get(f"/s/{second['token']}")).status_code == 200
    left = (await salon_app.client.get("/api/shares", headers=headers)).json()
    assert [item["id"] for item in left] == [second["id"]]


async def _picture(app: RunningApp, token: str) -> Any:
    shown = (await app.client.get(f"/s/{token}")).json()
    return await app.client.get(shown["urls"]["renditions"]["sm"], follow_redirects=False)


async def test_shared_pictures_stop_when_the_link_is_revoked_or_expires(
    salon_app: RunningApp, salon_database: str
) -> None:
    headers = await salon_app.login()
    image = await _image(salon_app, headers)
    revoked = await _share(salon_app, headers, image["id"])
    expiring = await _share(salon_app, headers, image["id"])
    url = (await salon_app.client.get(f"/s/{revoked['token']}")).json()["urls"]["renditions"]["sm"]

    picture = await _picture(salon_app, revoked["token"])
    # The bytes themselves, not a redirect to a /media/ URL that would outlive the link.
    assert picture.status_code == 200, picture.headers
    assert picture.headers["content-type"] == "image/webp" and picture.content
    assert "location" not in picture.headers
    assert "no-cache" in picture.headers["cache-control"]
    # The owner's own API still redirects to a signed URL (the fast path is kept there).
    own = await salon_app.client.get(
        f"/api/images/{image['id']}/renditions/sm", headers=headers, follow_redirects=False
    )
    assert own.status_code == 307 and own.headers["location"].startswith("/media/")

    await salon_app.client.delete(f"/api/shares/{revoked['id']}", headers=headers)
    assert (await salon_app.client.get(url)).status_code == 404

    assert (await _picture(salon_app, expiring["token"])).status_code == 200
    sm = (await salon_app.client.get(f"/s/{expiring['token']}")).json()["urls"]["renditions"]
    async with database(salon_database) as db, db.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await db.execute(update(ShareLink).values(expires_at=past))
    assert (await salon_app.client.get(sm["sm"])).status_code == 404
    listed = (await salon_app.client.get("/api/shares", headers=headers)).json()
    assert [item["expired"] for item in listed] == [True]
