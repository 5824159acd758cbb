"""Album sharing: links to an album (expiring, optional password, revocable, listed with the
photo links), read-only sharing with another user of the same Salon, and the album's cover.
Revocation, expiry and unsharing stop the album and its pictures at once. The real app,
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from salon.db.models import AlbumShareLink
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

PASSWORD = "open sesame 42"


async def _album_with_photos(
    app: RunningApp, headers: dict[str, str], n: int = 2
) -> tuple[str, list[dict[str, Any]]]:
    images = []
    for i in range(n):
        data = sample_jpeg(320 + 16 * i, 240)
        response = await app.upload(headers, data)
        assert response.status_code == 201, response.text
        images.append(response.json())
    album = await app.client.post(
        "/api/albums", json={"name": f"Trip {uuid.uuid4().hex[:6]}"}, headers=headers
    )
    assert album.status_code == 201, album.text
    added = await app.client.post(
        f"/api/albums/{album.json()['id']}/images",
        json={"image_ids": [image["id"] for image in images]},
        headers=headers,
    )
    assert added.status_code == 200, added.text
    return str(album.json()["id"]), images


async def _share(
    app: RunningApp, headers: dict[str, str], album_id: str, **body: Any
) -> dict[str, Any]:
    response = await app.client.post(f"/api/albums/{album_id}/share", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_an_album_link_shows_its_photos_until_revoked(salon_app: RunningApp) -> None:
    client = salon_app.client
    owner = await salon_app.login()
    other = await salon_app.login()
    album_id, images = await _album_with_photos(salon_app, owner)

    link = await _share(salon_app, owner, album_id)
    assert link["url"].endswith(f"/share/album/{link['token']}")
    assert link["password"] is False and link["show"] == []
    view = await client.get(f"/s/album/{link['token']}")
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["image_count"] == 2 and len(body["images"]) == 2
    assert {i["id"] for i in body["images"]} == {i["id"] for i in images}
    assert body["cover_id"] in {i["id"] for i in images}
    # What the owner did not choose stays hidden; the original is never offered.
    assert all(i["title"] is None and i["sha256"] is None for i in body["images"])
    urls = [u for i in body["images"] for u in i["urls"]["renditions"].values()]
    assert urls and all(u.startswith(f"/s/album/{link['token']}/images/") for u in urls)
    picture = await client.get(urls[0])
    assert picture.status_code == 200 and picture.headers["cache-control"] == "private, no-cache"
    assert picture.content[:4] in (b"RIFF", b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xdb")

    # Another photo of the owner, not in the album, is not reachable through the link.
    outside = (await salon_app.upload(owner, sample_jpeg(200, 200))).json()
    stray = await client.get(f"/s/album/{link['token']}/images/{outside['id']}/renditions/sm")
    assert stray.status_code == 404

    # Only the owner may share; strangers get the not-found answer, anonymous 401.
    assert (await client.post(f"/api/albums/{album_id}/share", headers=other)).status_code == 404
    assert (await client.post(f"/api/albums/{album_id}/share")).status_code == 401

    # Listed with the photo links, then revoked: the page and the pictures stop at once.
    listed = (await client.get("/api/shares", headers=owner)).json()
    mine = [s for s in listed if s["id"] == link["id"]]
    assert mine and mine[0]["kind"] == "album" and mine[0]["album_id"] == album_id
    assert mine[0]["image_id"] is None and mine[0]["password"] is False
    assert (await client.get("/api/shares", headers=other)).json() == []
    assert (await client.delete(f"/api/shares/{link['id']}", headers=other)).status_code == 404
    assert (await client.delete(f"/api/shares/{link['id']}", headers=owner)).status_code == 204
    revoked = await client.get(f"/s/album/{link['token']}")
    assert revoked.status_code == 410 and "revoked" in revoked.json()["detail"]
    assert revoked.headers["cache-control"] == "no-store"
    assert (await client.get(urls[0])).status_code == 410
    assert (await client.delete(f"/api/shares/{link['id']}", headers=owner)).status_code == 404


async def test_expired_links_trashed_photos_and_chosen_details(
    salon_app: RunningApp, salon_database: str
) -> None:
    client = salon_app.client
    owner = await salon_app.login()
    album_id, images = await _album_with_photos(salon_app, owner)
    link = await _share(salon_app, owner, album_id, show=["title", "file"], expires_in=3600)
    body = (await client.get(f"/s/album/{link['token']}")).json()
    assert {i["title"] for i in body["images"]} == {i["title"] for i in images}
    assert all(i["size"] and i["taken_at"] is None for i in body["images"])

    # A photo moved to the trash leaves the shared album at once.
    trashed = images[0]
    assert (await client.delete(f"/api/images/{trashed['id']}", headers=owner)).status_code == 204
    body = (await client.get(f"/s/album/{link['token']}")).json()
    assert [i["id"] for i in body["images"]] == [images[1]["id"]]
    gone = await client.get(f"/s/album/{link['token']}/images/{trashed['id']}/renditions/sm")
    assert gone.status_code == 404

    for bad in ({"expires_in": 5}, {"show": ["email"]}, {"password": "123"}, {"x": 1}):
        refused = await client.post(f"/api/albums/{album_id}/share", json=bad, headers=owner)
        assert refused.status_code == 400, (bad, refused.text)

    url = f"/s/album/{link['token']}/images/{images[1]['id']}/renditions/sm"
    shown = await client.get(url)
    assert shown.status_code == 200
    head = await client.head(url)  # like GET, without the body
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(shown.content))
    # An engine of our own: the app's lives on the test client's event loop.
    engine = create_async_engine(salon_database, poolclass=NullPool)
    async with AsyncSession(engine) as session:
        await session.execute(
            update(AlbumShareLink)
            .where(AlbumShareLink.id == uuid.UUID(link["id"]))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        await session.commit()
    await engine.dispose()
    expired = await client.get(f"/s/album/{link['token']}")
    assert expired.status_code == 410 and "expired on" in expired.json()["detail"]
    assert (await client.get(url)).status_code == 410
    listed = (await client.get("/api/shares", headers=owner)).json()
    assert [s["expired"] for s in listed if s["id"] == link["id"]] == [True]


async def test_a_password_opens_the_album_in_one_browser(
    salon_app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = salon_app.client
    owner = await salon_app.login()
    album_id, images = await _album_with_photos(salon_app, owner, 1)
    link = await _share(salon_app, owner, album_id, password=PASSWORD)
    assert link["password"] is True
    token = link["token"]
    rendition = f"/s/album/{token}/images/{images[0]['id']}/renditions/sm"

    locked = await client.get(f"/s/album/{token}")
    assert locked.status_code == 401 and "password" in locked.json()["detail"]
    assert (await client.get(rendition)).status_code == 401

    wrong = await client.post(f"/s/album/{token}/unlock", json={"password": "not it"})
    assert wrong.status_code == 403 and wrong.json()["detail"] == "wrong password"
    assert "set-cookie" not in wrong.headers
    assert (await client.post(f"/s/album/{token}/unlock", json={})).status_code == 400
    # A form, or text a cross-site form can send without asking, is not JSON: 415 saying so,
    # as the sign-in routes answer; another site's page is refused (second outside attacker,
    # s29: the form got "JSON is malformed" and text/plain was read).
    unlock = f"/s/album/{token}/unlock"
    form = await client.post(unlock, data={"password": PASSWORD})
    assert form.status_code == 415 and "as JSON" in form.json()["detail"], form.text
    text = await client.post(
        unlock, content=f'{{"password": "{PASSWORD}"}}', headers={"content-type": "text/plain"}
    )
    assert text.status_code == 415 and "set-cookie" not in text.headers, text.text
    foreign = await client.post(
        unlock, json={"password": PASSWORD}, headers={"origin": "https://elsewhere.example"}
    )
    assert foreign.status_code == 403 and "cross-site" in foreign.json()["detail"], foreign.text

    right = await client.post(f"/s/album/{token}/unlock", json={"password": PASSWORD})
    assert right.status_code == 204, right.text
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and f"Path=/s/album/{token}" in cookie
    assert PASSWORD not in cookie
    assert (await client.get(f"/s/album/{token}")).status_code == 200
    assert (await client.get(rendition)).status_code == 200

    # The cookie opens this link only: a second protected link of the same album stays shut.
    second = await _share(salon_app, owner, album_id, password=PASSWORD)
    value = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.set("salon_album_share", value, path=f"/s/album/{second['token']}")
    assert (await client.get(f"/s/album/{second['token']}")).status_code == 401

    # Revoked: the unlocked browser is shut out too.
    assert (await client.delete(f"/api/shares/{link['id']}", headers=owner)).status_code == 204
    assert (await client.get(f"/s/album/{token}")).status_code == 410
    assert (await client.get(rendition)).status_code == 410

    # No password in the log; links without a password have nothing to unlock.
    assert PASSWORD not in caplog.text
    plain = await _share(salon_app, owner, album_id)
    no_lock = await client.post(f"/s/album/{plain['token']}/unlock", json={"password": "x"})
    assert no_lock.status_code == 404
    missing = await client.post("/s/album/nothing-here/unlock", json={"password": "x"})
    assert missing.status_code == 404


async def test_wrong_passwords_are_limited_per_link(tmp_path: Path, salon_database: str) -> None:
    env = {"SALON_LOGIN_FAILURE_LIMIT": "3", "SALON_AUTH_RATE_LIMIT": "100"}
    async with running_app(tmp_path / "data", env=env, database_url=salon_database) as app:
        owner = await app.login()
        album_id, _ = await _album_with_photos(app, owner, 1)
        link = await _share(app, owner, album_id, password=PASSWORD)
        unlock = f"/s/album/{link['token']}/unlock"
        for _ in range(3):
            wrong = await app.client.post(unlock, json={"password": "guess"})
            assert wrong.status_code == 403
        limited = await app.client.post(unlock, json={"password": PASSWORD})
        assert limited.status_code == 429, limited.text
        assert "wrong passwords for this link" in limited.json()["detail"]
        assert int(limited.headers["retry-after"]) > 0


async def test_sharing_an_album_with_another_user(salon_app: RunningApp) -> None:
    client = salon_app.client
    owner = await salon_app.login()
    owner_email = list(salon_app.users)[-1]
    friend = await salon_app.login()
    friend_email = list(salon_app.users)[-1]
    stranger = await salon_app.login()
    album_id, images = await _album_with_photos(salon_app, owner)
    members = f"/api/albums/{album_id}/members"

    assert (await client.get("/api/albums/shared", headers=friend)).json() == []
    view = f"/api/albums/shared/{album_id}"
    assert (await client.get(view, headers=friend)).status_code == 404

    added = await client.post(members, json={"email": friend_email.upper()}, headers=owner)
    assert added.status_code == 201, added.text
    friend_id = added.json()[0]["user_id"]
    assert added.json()[0]["email"] == friend_email
    again = await client.post(members, json={"email": friend_email}, headers=owner)
    assert again.status_code == 201 and len((await client.get(members, headers=owner)).json()) == 1
    for bad, status in (
        ({"email": "nobody@example.com"}, 404),
        ({"email": owner_email}, 404),
        ({"email": ""}, 400),
        ({}, 400),
    ):
        refused = await client.post(members, json=bad, headers=owner)
        assert refused.status_code == status, (bad, refused.text)
        assert refused.json()["detail"]
        if status == 404:  # the sharing form shows it as a sentence
            assert refused.json()["detail"].startswith("No other user"), refused.text
    assert (
        await client.post(members, json={"email": friend_email}, headers=friend)
    ).status_code == 404
    assert (await client.get(members, headers=friend)).status_code == 404
    assert (await client.get(members)).status_code == 401

    shared = (await client.get("/api/albums/shared", headers=friend)).json()
    assert [(a["id"], a["owner_email"], a["image_count"]) for a in shared] == [
        (album_id, owner_email, 2)
    ]
    body = (await client.get(view, headers=friend)).json()
    assert {i["id"] for i in body["images"]} == {i["id"] for i in images}
    assert body["owner_email"] == owner_email
    rendition = body["images"][0]["urls"]["renditions"]["sm"]
    assert rendition.startswith(f"/api/albums/shared/{album_id}/images/")
    assert (await client.get(rendition, headers=friend)).status_code == 200

    # Read-only: the friend cannot change, share or even see it through the owner's routes.
    for method, path, payload in (
        ("PATCH", f"/api/albums/{album_id}", {"name": "mine now"}),
        ("DELETE", f"/api/albums/{album_id}", None),
        ("POST", f"/api/albums/{album_id}/images", {"image_ids": [images[0]["id"]]}),
        ("DELETE", f"/api/albums/{album_id}/images/{images[0]['id']}", None),
        ("POST", f"/api/albums/{album_id}/share", {}),
        ("GET", f"/api/images/{images[0]['id']}", None),
    ):
        answer = await client.request(method, path, json=payload, headers=friend)
        assert answer.status_code == 404, (method, path, answer.text)
    assert (await client.get("/api/albums", headers=friend)).json() == []
    for who in (stranger, {}):
        assert (await client.get(view, headers=who)).status_code in (401, 404)
        assert (await client.get(rendition, headers=who)).status_code in (401, 404)

    # Unshared: gone at once, pictures included.
    # (Only the owner, or the member leaving: tests/security/test_sec_sharing_attacks.py.)
    assert (await client.delete(f"{members}/{friend_id}", headers=stranger)).status_code == 404
    assert (await client.delete(f"{members}/{friend_id}", headers=owner)).status_code == 204
    assert (await client.get("/api/albums/shared", headers=friend)).json() == []
    assert (await client.get(view, headers=friend)).status_code == 404
    assert (await client.get(rendition, headers=friend)).status_code == 404
    assert (await client.delete(f"{members}/{friend_id}", headers=owner)).status_code == 404


async def test_rename_cover_and_delete(salon_app: RunningApp) -> None:
    client = salon_app.client
    owner = await salon_app.login()
    other = await salon_app.login()
    album_id, images = await _album_with_photos(salon_app, owner)
    path = f"/api/albums/{album_id}"
    newest = max(images, key=lambda i: i["id"])["id"]
    oldest = min(images, key=lambda i: i["id"])["id"]
    assert (await client.get(path, headers=owner)).json()["cover_id"] == newest

    chosen = await client.patch(path, json={"cover_image_id": oldest}, headers=owner)
    assert chosen.status_code == 200 and chosen.json()["cover_id"] == oldest
    listed = (await client.get("/api/albums", headers=owner)).json()
    assert [a["cover_id"] for a in listed if a["id"] == album_id] == [oldest]
    outside = (await salon_app.upload(owner, sample_jpeg(100, 100))).json()
    refused = await client.patch(path, json={"cover_image_id": outside["id"]}, headers=owner)
    assert refused.status_code == 404 and "cover" in refused.json()["detail"]
    bad = await client.patch(path, json={"cover_image_id": "nope"}, headers=owner)
    assert bad.status_code == 400
    reset = await client.patch(path, json={"cover_image_id": None}, headers=owner)
    assert reset.json()["cover_id"] == newest
    assert (
        await client.patch(path, json={"cover_image_id": oldest}, headers=other)
    ).status_code == 404

    renamed = await client.patch(path, json={"name": "  Renamed  "}, headers=owner)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
    assert (await client.patch(path, json={"name": ""}, headers=owner)).status_code == 400

    link = await _share(salon_app, owner, album_id)
    assert (await client.delete(path, headers=owner)).status_code == 204
    assert (await client.get(f"/s/album/{link['token']}")).status_code == 404
    assert all(
        s["id"] != link["id"] for s in (await client.get("/api/shares", headers=owner)).json()
    )
    # The photos stay in the library.
    assert (await client.get(f"/api/images/{images[0]['id']}", headers=owner)).status_code == 200


async def test_the_migration_keeps_the_albums_triggers(salon_database: str, tmp_path: Path) -> None:
    """0014 adds ``albums.cover_image_id`` in place on SQLite: a batch copy of the table would
    drop the triggers earlier migrations put on it (change log, search index)."""
    if not salon_database.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL alters the table in place")
    from salon.db import migrate

    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    names = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'albums'"

    def triggers() -> set[str]:
        with sqlite3.connect(tmp_path / "m.db") as conn:
            return {row[0] for row in conn.execute(names)}

    migrate.upgrade(url, "0013")
    before = triggers()
    assert {f"salon_log_albums_{k}" for k in ("insert", "update", "delete")} <= before
    migrate.upgrade(url)
    assert triggers() == before
    migrate.downgrade(url, "0013")
    assert triggers() == before


async def test_the_cover_is_a_photo_that_is_ready(salon_database: str, tmp_path: Path) -> None:
    """A photo still processing is not the cover yet: the albums page showed a broken picture
    (its sm rendition answered 404) right after a drop into the album."""
    env = {"SALON_INPROCESS_WORKER": "false"}
    async with running_app(tmp_path / "data", env=env, database_url=salon_database) as app:
        owner = await app.login()
        ready = (await app.upload(owner, sample_jpeg(120, 90))).json()
        album = (await app.client.post("/api/albums", json={"name": "Cover"}, headers=owner)).json()
        path = f"/api/albums/{album['id']}"
        add = f"{path}/images"
        assert (
            await app.client.post(add, json={"image_ids": [ready["id"]]}, headers=owner)
        ).status_code == 200
        fresh = (await app.upload(owner, sample_jpeg(90, 120), wait=False)).json()
        assert fresh["status"] == "processing"
        assert (
            await app.client.post(add, json={"image_ids": [fresh["id"]]}, headers=owner)
        ).status_code == 200
        assert (await app.client.get(path, headers=owner)).json()["cover_id"] == ready["id"]
        assert await app.make_renditions(fresh["id"]) == "ready"
        assert (await app.client.get(path, headers=owner)).json()["cover_id"] == fresh["id"]
