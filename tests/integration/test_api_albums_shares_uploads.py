"""Albums, share links and direct uploads (local storage: the intent points at the server)."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from PIL import Image as PILImage
from salon.db.models import UploadIntent
from salon.testing.fixtures import RunningApp, sample_jpeg
from sqlalchemy import func, select


async def test_albums_filter_the_listing(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    other = await salon_app.login()
    a = (await salon_app.upload(headers, sample_jpeg(color=(1, 1, 1)))).json()
    b = (await salon_app.upload(headers, sample_jpeg(color=(2, 200, 2)))).json()
    album = await salon_app.client.post(
        "/api/albums", json={"name": "  Holidays  "}, headers=headers
    )
    assert album.status_code == 201 and album.json()["name"] == "Holidays"
    album_id = album.json()["id"]
    dup = await salon_app.client.post("/api/albums", json={"name": "Holidays"}, headers=headers)
    assert dup.status_code == 409
    added = await salon_app.client.post(
        f"/api/albums/{album_id}/images", json={"image_ids": [a["id"]]}, headers=headers
    )
    assert added.json()["image_count"] == 1
    listing = await salon_app.client.get(
        "/api/images", params={"album_id": album_id}, headers=headers
    )
    assert [i["id"] for i in listing.json()["items"]] == [a["id"]]
    # Someone else's album is invisible, and their images cannot be added to mine.
    assert (await salon_app.client.get(f"/api/albums/{album_id}", headers=other)).status_code == 404
    theirs = (await salon_app.upload(other, sample_jpeg(color=(3, 3, 250)))).json()
    refused = await salon_app.client.post(
        f"/api/albums/{album_id}/images",
        json={"image_ids": [theirs["id"], b["id"]]},
        headers=headers,
    )
    assert refused.status_code == 404
    assert (await salon_app.client.get(f"/api/albums/{album_id}", headers=headers)).json()[
        "image_count"
    ] == 1
    albums = (await salon_app.client.get("/api/albums", headers=headers)).json()
    assert [(x["name"], x["image_count"]) for x in albums] == [("Holidays", 1)]


async def test_share_link_shows_one_image_to_anyone_until_it_expires(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    image = (await salon_app.upload(headers)).json()
    share = await salon_app.client.post(
        f"/api/images/{image['id']}/share", json={"expires_in": 3600}, headers=headers
    )
    assert share.status_code == 201
    token = share.json()["token"]
    assert share.json()["url"].endswith(f"/share/{token}")  # the page, not its JSON
    public = await salon_app.client.get(f"/s/{token}")
    assert public.status_code == 200 and public.json()["id"] == image["id"]
    assert all(
        url.startswith(f"/s/{token}/") for url in public.json()["urls"]["renditions"].values()
    )
    rendition = await salon_app.client.get(public.json()["urls"]["renditions"]["sm"])
    assert rendition.status_code == 200 and rendition.headers["content-type"] == "image/webp"
    assert (await salon_app.client.get(f"/s/{token}x")).status_code == 404
    other = await salon_app.login()
    assert (
        await salon_app.client.post(f"/api/images/{image['id']}/share", headers=other)
    ).status_code == 404
    async with salon_app.runtime.session_maker() as session:
        from salon.db.models import ShareLink

        link = (await session.execute(select(ShareLink))).scalar_one()
        link.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.commit()
    assert (await salon_app.client.get(f"/s/{token}")).status_code == 410


async def test_direct_upload_through_the_server_for_local_storage(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    data = sample_jpeg(800, 600, (10, 120, 200))
    intent = await salon_app.client.post(
        "/api/uploads",
        json={"filename": "../../etc/passwd.jpg", "content_type": "image/jpeg", "size": len(data)},
        headers=headers,
    )
    assert intent.status_code == 201, intent.text
    body = intent.json()
    assert body["method"] == "POST" and body["url"].endswith(
        f"/api/uploads/{body['upload_id']}/file"
    )
    sent = await salon_app.client.post(
        body["url"], files={"file": ("a.jpg", data, "image/jpeg")}, headers=headers
    )
    assert sent.status_code == 204
    done = await salon_app.client.post(
        f"/api/uploads/{body['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert done.status_code == 201 and done.json()["width"] == 800
    files = [p for p in (salon_app.data_dir / "media").rglob("*") if p.is_file()]
    assert not any("passwd" in str(p) or "uploads" in p.parts for p in files)
    again = await salon_app.client.post(
        f"/api/uploads/{body['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert again.status_code == 200 and again.json()["id"] == done.json()["id"]


async def test_direct_upload_refusals_delete_the_object(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    other = await salon_app.login()
    too_big = await salon_app.client.post(
        "/api/uploads",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "size": 10**12},
        headers=headers,
    )
    assert too_big.status_code == 413
    # The announced type is only a label: the bytes are judged on completion.
    any_type = await salon_app.client.post(
        "/api/uploads",
        json={"filename": "a.html", "content_type": "text/html", "size": 10},
        headers=headers,
    )
    assert any_type.status_code == 201, any_type.text

    text = b"definitely not an image, just some text bytes"
    intent = (
        await salon_app.client.post(
            "/api/uploads",
            json={"filename": "a.jpg", "content_type": "image/jpeg", "size": len(text)},
            headers=headers,
        )
    ).json()
    assert (
        await salon_app.client.post(
            f"/api/uploads/{intent['upload_id']}/complete", params={"wait": "true"}, headers=other
        )
    ).status_code == 404
    missing = await salon_app.client.post(
        f"/api/uploads/{intent['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert missing.status_code == 400 and "nothing was uploaded" in missing.json()["detail"]

    intent = (
        await salon_app.client.post(
            "/api/uploads",
            json={"filename": "a.jpg", "content_type": "image/jpeg", "size": len(text)},
            headers=headers,
        )
    ).json()
    await salon_app.client.post(
        intent["url"], files={"file": ("a.jpg", text, "image/jpeg")}, headers=headers
    )
    refused = await salon_app.client.post(
        f"/api/uploads/{intent['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert refused.status_code == 415
    assert refused.json()["reason"] == "not_an_image"
    assert not [p for p in (salon_app.data_dir / "media").rglob("*") if p.is_file()]
    assert (await salon_app.client.get("/api/images", headers=headers)).json()["items"] == []
    # Once refused, the file and the completion say why they are refused and what to do (a
    # bare "this upload is refused" before; outside attacker, s29).
    resent = await salon_app.client.post(
        intent["url"], files={"file": ("a.jpg", text, "image/jpeg")}, headers=headers
    )
    again = await salon_app.client.post(
        f"/api/uploads/{intent['upload_id']}/complete", headers=headers
    )
    for answer in (resent, again):
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"].startswith("this upload was refused when it was completed")
        assert "announce a new upload with POST /api/uploads" in answer.json()["detail"]


async def _announce(app: RunningApp, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    """A direct upload of ``data`` announced (``POST /api/uploads``)."""
    created = await app.client.post(
        "/api/uploads",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "size": len(data)},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def _send(
    app: RunningApp, headers: dict[str, str], intent: dict[str, Any], data: bytes, status: int = 204
) -> Any:
    """The file of an announced upload sent to its url; the answer, of ``status``."""
    sent = await app.client.post(
        intent["url"], files={"file": ("a.jpg", data, "image/jpeg")}, headers=headers
    )
    assert sent.status_code == status, sent.text
    return sent


async def test_a_completion_before_the_file_leaves_the_upload_open(
    salon_app: RunningApp,
) -> None:
    """Completing before sending the file refused the upload for good, and the file sent next
    got a bare "this upload is refused" (outside attacker, s29): nothing was there to refuse."""
    headers = await salon_app.login()
    data = sample_jpeg()
    intent = await _announce(salon_app, headers, data)
    complete = f"/api/uploads/{intent['upload_id']}/complete"
    early = await salon_app.client.post(complete, headers=headers)
    assert early.status_code == 400, early.text
    assert early.json()["detail"] == (
        "nothing was uploaded for this upload id yet: send its file first, then complete"
        " it again (the upload stays open until it expires)"
    )
    await _send(salon_app, headers, intent, data)
    done = await salon_app.client.post(complete, params={"wait": "true"}, headers=headers)
    assert done.status_code == 201, done.text
    late = await _send(salon_app, headers, intent, data, status=400)
    assert late.status_code == 400, late.text
    assert late.json()["detail"].startswith("this upload is already completed")


async def test_abandoned_intents_are_cleaned_up(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    data = sample_jpeg()
    intent = await _announce(salon_app, headers, data)
    await _send(salon_app, headers, intent, data)
    async with salon_app.runtime.session_maker() as session:
        row = await session.get(UploadIntent, __import__("uuid").UUID(intent["upload_id"]))
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        await session.commit()
    removed = await salon_app.runtime.services.uploads.cleanup_expired()
    assert removed == 1
    assert not [p for p in (salon_app.data_dir / "media").rglob("*") if p.is_file()]
    async with salon_app.runtime.session_maker() as session:
        assert (
            await session.execute(select(func.count()).select_from(UploadIntent))
        ).scalar_one() == 0


async def test_direct_upload_judges_the_bytes_not_the_announced_type(
    salon_app: RunningApp,
) -> None:
    """A PNG announced as image/x-portable-bitmap (a type guessed from its name) becomes a PNG;
    a file declaring more pixels than allowed is 413, and leaves neither object nor row."""
    headers = await salon_app.login()
    png = io.BytesIO()
    PILImage.new("RGB", (40, 30), (0, 160, 90)).save(png, "PNG")

    async def complete(data: bytes, filename: str, content_type: str) -> Any:
        intent = await salon_app.client.post(
            "/api/uploads",
            json={"filename": filename, "content_type": content_type, "size": len(data)},
            headers=headers,
        )
        assert intent.status_code == 201, intent.text
        body = intent.json()
        sent = await salon_app.client.post(
            body["url"], files={"file": (filename, data, content_type)}, headers=headers
        )
        assert sent.status_code == 204, sent.text
        return await salon_app.client.post(
            f"/api/uploads/{body['upload_id']}/complete", params={"wait": "true"}, headers=headers
        )

    done = await complete(png.getvalue(), "scan.pbm", "image/x-portable-bitmap")
    assert done.status_code == 201, done.text
    assert done.json()["content_type"] == "image/png" and done.json()["status"] == "ready"

    bomb = io.BytesIO()
    PILImage.new("1", (12000, 12000), 1).save(bomb, "PNG")
    refused = await complete(bomb.getvalue(), "bomb.png", "image/apng")
    assert refused.status_code == 413, refused.text
    assert refused.json()["reason"] == "too_large"
    listed = (await salon_app.client.get("/api/images", headers=headers)).json()["items"]
    assert [item["id"] for item in listed] == [done.json()["id"]]
    stored = [p for p in (salon_app.data_dir / "media").rglob("*") if p.is_file()]
    assert not any("uploads" in p.parts for p in stored), stored
    assert len(stored) == 4, stored  # the PNG's original and its three renditions


async def test_the_same_bytes_again_are_answered_as_a_duplicate(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    data = sample_jpeg(320, 240, (200, 40, 90))
    files = {"file": ("same.jpg", data, "image/jpeg")}
    first = await salon_app.client.post("/api/images", files=files, headers=headers)
    assert first.status_code == 201 and first.json()["duplicate"] is False, first.text
    again = await salon_app.client.post("/api/images", files=files, headers=headers)
    assert again.status_code == 200 and again.json()["duplicate"] is True, again.text
    assert again.json()["id"] == first.json()["id"]
    intent = await salon_app.client.post(
        "/api/uploads",
        json={"filename": "copy.jpg", "content_type": "image/jpeg", "size": len(data)},
        headers=headers,
    )
    url, upload_id = intent.json()["url"], intent.json()["upload_id"]
    sent = await salon_app.client.post(url, files=files, headers=headers)
    assert sent.status_code == 204, sent.text
    done = await salon_app.client.post(f"/api/uploads/{upload_id}/complete", headers=headers)
    assert done.status_code == 200 and done.json()["duplicate"] is True, done.text
    assert done.json()["id"] == first.json()["id"]
