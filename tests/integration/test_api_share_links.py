"""Share links: their owner lists and revokes them, a link reveals only what its owner chose,
and its pictures stop the moment it expires or is revoked (no signed /media/ or presigned URL
is ever handed out through a share). The real app, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from salon.db.models import AlbumShareLink, ShareLink
from salon.testing.fixtures import RunningApp, sample_jpeg
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

PRIVATE = ("title", "taken_at", "content_type", "size", "sha256")
PASSWORD = "a photo passphrase"


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
    assert [item["image_title"] for item in listed] == [image["title"]] * 2  # names the link
    assert not any(item["expired"] for item in listed)
    assert "token" not in listed[0] and first["token"] not in str(listed)
    assert (await salon_app.client.get("/api/shares", headers=stranger)).json() == []
    assert (await salon_app.client.get("/api/shares")).status_code == 401

    path = f"/api/shares/{first['id']}"
    assert (await salon_app.client.delete(path, headers=stranger)).status_code == 404
    assert (await salon_app.client.get(f"/s/{first['token']}")).status_code == 200
    assert (await salon_app.client.delete(path, headers=headers)).status_code == 204
    assert (await salon_app.client.get(f"/s/{first['token']}")).status_code == 410
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
    # HEAD answers like GET, without the body (link checkers and unfurlers ask with HEAD).
    head = await salon_app.client.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "image/webp"
    assert head.headers["content-length"] == str(len(picture.content))
    assert head.headers["etag"] == picture.headers["etag"]
    # The owner's own API still redirects to a signed URL (the fast path is kept there).
    own = await salon_app.client.get(
        f"/api/images/{image['id']}/renditions/sm", headers=headers, follow_redirects=False
    )
    assert own.status_code == 307 and own.headers["location"].startswith("/media/")

    await salon_app.client.delete(f"/api/shares/{revoked['id']}", headers=headers)
    assert (await salon_app.client.get(url)).status_code == 410

    assert (await _picture(salon_app, expiring["token"])).status_code == 200
    sm = (await salon_app.client.get(f"/s/{expiring['token']}")).json()["urls"]["renditions"]
    async with database(salon_database) as db, db.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await db.execute(update(ShareLink).values(expires_at=past))
    assert (await salon_app.client.get(sm["sm"])).status_code == 410
    listed = (await salon_app.client.get("/api/shares", headers=headers)).json()
    assert [item["expired"] for item in listed] == [True]


async def test_a_photo_link_takes_an_expiry_and_a_password(
    salon_app: RunningApp, salon_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    """As album links do: an expiry of the owner's choice, an optional password given once
    (its cookie opens the photo in that browser only), listed, and revocable."""
    caplog.set_level(logging.DEBUG)
    client = salon_app.client
    headers = await salon_app.login()
    image = await _image(salon_app, headers)
    for bad in ({"password": "short"}, {"password": 7}, {"expires_in": 30}):
        refused = await client.post(f"/api/images/{image['id']}/share", json=bad, headers=headers)
        assert refused.status_code == 400, (bad, refused.text)
    before = dt.datetime.now(dt.UTC)
    link = await _share(salon_app, headers, image["id"], expires_in=2 * 86400, password=PASSWORD)
    assert link["password"] is True and link["url"].endswith(f"/share/{link['token']}")
    expires = dt.datetime.fromisoformat(link["expires_at"])
    assert abs((expires - before).total_seconds() - 2 * 86400) < 60
    token = link["token"]
    # Code from before photo passwords looks up sha256(token): it must not find this link.
    async with database(salon_database) as db:
        stored = (await db.execute(select(ShareLink.token_hash))).scalars().all()
    assert hashlib.sha256(token.encode()).hexdigest() not in stored

    locked = await client.get(f"/s/{token}")
    assert locked.status_code == 401 and "password" in locked.json()["detail"]
    assert locked.headers["cache-control"] == "no-store"
    rendition = f"/s/{token}/renditions/sm"
    assert (await client.get(rendition)).status_code == 401
    page = await client.get(f"/share/{token}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "This photo is protected" in page.text

    wrong = await client.post(f"/s/{token}/unlock", json={"password": "not the one"})
    assert wrong.status_code == 403 and "set-cookie" not in wrong.headers
    right = await client.post(f"/s/{token}/unlock", json={"password": PASSWORD})
    assert right.status_code == 204, right.text
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and f"Path=/s/{token}" in cookie and PASSWORD not in cookie
    shown = await client.get(f"/s/{token}")
    assert shown.status_code == 200 and shown.json()["id"] == image["id"]
    picture = await client.get(rendition)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/webp"

    # The cookie opens this link only; a plain link has nothing to unlock.
    second = await _share(salon_app, headers, image["id"], password=PASSWORD)
    value = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.set("salon_photo_share", value, path=f"/s/{second['token']}")
    assert (await client.get(f"/s/{second['token']}")).status_code == 401
    plain = await _share(salon_app, headers, image["id"])
    assert plain["password"] is False
    no_lock = await client.post(f"/s/{plain['token']}/unlock", json={"password": PASSWORD})
    assert no_lock.status_code == 404

    listed = (await client.get("/api/shares", headers=headers)).json()
    by_id = {item["id"]: item for item in listed}
    assert by_id[link["id"]]["password"] is True and by_id[plain["id"]]["password"] is False

    # Revoked: the unlocked browser is shut out too, with 410, and it leaves the list.
    assert (await client.delete(f"/api/shares/{link['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"/s/{token}")).status_code == 410
    assert (await client.get(rendition)).status_code == 410
    unlock_after = await client.post(f"/s/{token}/unlock", json={"password": PASSWORD})
    assert unlock_after.status_code == 410
    assert link["id"] not in {item["id"] for item in await _list(salon_app, headers)}
    assert PASSWORD not in caplog.text


async def _list(app: RunningApp, headers: dict[str, str]) -> list[dict[str, Any]]:
    return list((await app.client.get("/api/shares", headers=headers)).json())


async def test_ended_links_answer_410_and_unknown_ones_404(
    salon_app: RunningApp, salon_database: str
) -> None:
    """Revoked and expired links, photo and album, answer 410 Gone saying which, as JSON and
    as their page; an unknown token is 404; no answer hands out a /media/ URL, and the
    picture URLs a link gave stop with it."""
    client = salon_app.client
    headers = await salon_app.login()
    image = await _image(salon_app, headers)
    album = await client.post("/api/albums", json={"name": "Ended"}, headers=headers)
    album_id = album.json()["id"]
    await client.post(
        f"/api/albums/{album_id}/images", json={"image_ids": [image["id"]]}, headers=headers
    )
    html = {"accept": "text/html"}
    links = {}
    for kind, path in (("photo", f"/api/images/{image['id']}/share"), ("album", None)):
        for state in ("revoked", "expired"):
            made = await client.post(
                path or f"/api/albums/{album_id}/share", json={}, headers=headers
            )
            links[kind, state] = made.json()
    pictures = {}
    for (kind, state), link in links.items():
        json_path = f"/s/{link['token']}" if kind == "photo" else f"/s/album/{link['token']}"
        body = (await client.get(json_path)).json()
        shown = [body] if kind == "photo" else body["images"]
        urls = [u for item in shown for u in item["urls"]["renditions"].values()]
        assert urls and not any("/media/" in u for u in urls), urls
        assert "/media/" not in (await client.get(link["url"], headers=html)).text
        pictures[kind, state] = (json_path, urls)
        assert (await client.get(urls[0])).status_code == 200

    for kind in ("photo", "album"):
        revoked = links[kind, "revoked"]
        deleted = await client.delete(f"/api/shares/{revoked['id']}", headers=headers)
        assert deleted.status_code == 204
    async with database(salon_database) as db, db.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        for model, link in ((ShareLink, links["photo", "expired"]), (AlbumShareLink, None)):
            target = link or links["album", "expired"]
            await db.execute(
                update(model).where(model.id == uuid.UUID(target["id"])).values(expires_at=past)
            )

    for (kind, state), (json_path, urls) in pictures.items():
        answer = await client.get(json_path)
        assert answer.status_code == 410, (kind, state, answer.text)
        word = "revoked by its owner" if state == "revoked" else "expired on"
        assert word in answer.json()["detail"] and answer.headers["cache-control"] == "no-store"
        for url in urls:
            assert (await client.get(url)).status_code == 410, (kind, state, url)
        page = await client.get(links[kind, state]["url"], headers=html)
        assert page.status_code == 410 and word in page.text, (kind, state)
        assert "text/html" in page.headers["content-type"]
        assert page.headers["cache-control"] == "no-store"

    for json_path, page_path in (
        ("/s/unknown-token", "/share/unknown-token"),
        ("/s/album/unknown-token", "/share/album/unknown-token"),
    ):
        missing = await client.get(json_path)
        assert missing.status_code == 404 and missing.json()["detail"]
        page = await client.get(page_path, headers=html)
        assert page.status_code == 404 and "No share link has this address" in page.text
    # The owner's own picture URLs (signed /media/) are untouched by the links' end.
    own = await client.get(
        f"/api/images/{image['id']}/renditions/sm", headers=headers, follow_redirects=True
    )
    assert own.status_code == 200


async def test_simple_link_passwords_are_refused(salon_app: RunningApp) -> None:
    """Third outside attack, item 7: ``aaaaaaaa``, ``abcdefgh``, ``........``, eight spaces,
    eight U+200B and the owner's own address were accepted as a link's password. Each is now a
    400 saying what is wanted, on photo and album links, and no link is made."""
    client = salon_app.client
    email = "share-owner@example.com"
    headers = await salon_app.login(email)
    image = await _image(salon_app, headers)
    album = await client.post("/api/albums", json={"name": "weak"}, headers=headers)
    assert album.status_code == 201, album.text
    simple = ("aaaaaaaa", "abcdefgh", "qrstuvwx", "98765432", "........", " " * 8, "\u200b" * 8)
    # Attack report 4: one piece repeated passed.
    repeated = ("alicealice", "abcdabcd", "12341234", "Wxyz.Wxyz.")
    cases = [
        (weak, "too simple") for weak in (*simple, *repeated, "\u3164" * 8, "hgfedcba", "aabbaabb")
    ]
    cases += [(email, "e-mail address"), ("SHARE-OWNER", "e-mail address")]
    paths = (f"/api/images/{image['id']}/share", f"/api/albums/{album.json()['id']}/share")
    for made_before, path in enumerate(paths):
        for weak, says in cases:
            refused = await client.post(path, json={"password": weak}, headers=headers)
            assert refused.status_code == 400, (path, weak, refused.text)
            assert says in refused.json()["detail"], (weak, refused.text)
        listed = await client.get("/api/shares", headers=headers)
        assert listed.status_code == 200 and len(listed.json()) == made_before, listed.text
        made = await client.post(path, json={"password": "Xk29 pq fern"}, headers=headers)
        assert made.status_code == 201, made.text
