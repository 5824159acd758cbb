"""Text the databases disagree on: NUL characters (JSON and SQLite take them, PostgreSQL does
not). On both databases every route answers a 4xx or stores the value, never a 5xx, and a
refused upload leaves nothing behind."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from salon.testing.fixtures import TEST_PASSWORD, RunningApp
from security_support import assert_consistent, distinct_jpeg, image_rows

NUL = "a\x00b"


@pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)
async def test_nul_characters_are_stored_or_refused_never_500(salon_app: RunningApp) -> None:
    app = salon_app
    headers = await app.login()
    kept = await app.upload(headers, distinct_jpeg())
    assert kept.status_code == 201
    image_id = kept.json()["id"]
    answers = {
        "upload": await app.client.post(
            "/api/images",
            files={"file": (f"{NUL}.jpg", distinct_jpeg(), "image/jpeg")},
            data={"title": NUL},
            headers=headers,
        ),
        "patch": await app.client.patch(
            f"/api/images/{image_id}", json={"title": NUL}, headers=headers
        ),
        "album": await app.client.post("/api/albums", json={"name": NUL}, headers=headers),
        "signup": await app.client.post(
            "/api/auth/signup", json={"email": f"{NUL}@example.com", "password": TEST_PASSWORD}
        ),
        "login": await app.client.post(
            "/api/auth/login", json={"email": f"{NUL}@example.com", "password": TEST_PASSWORD}
        ),
        "intent": await app.client.post(
            "/api/uploads",
            json={"filename": f"{NUL}.jpg", "content_type": "image/jpeg", "size": 10},
            headers=headers,
        ),
    }
    for name, response in answers.items():
        assert response.status_code < 500, (name, response.text)
        assert response.json().get("status_code", 200) < 500
    expected = 2 if answers["upload"].status_code == 201 else 1
    assert await image_rows(app) == expected
    await assert_consistent(app, images=expected)
    # The app still serves the same user normally afterwards.
    assert (await app.client.get(f"/api/images/{image_id}", headers=headers)).status_code == 200


@pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)
async def test_names_lose_control_characters(salon_app: RunningApp) -> None:
    """Album and API key names drop NUL and other control characters, as titles do (the
    outside attack stored a NUL in both; PostgreSQL refuses NUL in text)."""
    headers = await salon_app.login()
    album = await salon_app.client.post("/api/albums", json={"name": NUL}, headers=headers)
    assert album.status_code == 201, album.text
    assert album.json()["name"] == "ab"
    key = await salon_app.client.post(
        "/api/keys",
        json={"name": "script\x00\x07 key", "scope": "read", "password": TEST_PASSWORD},
        headers=headers,
    )
    assert key.status_code == 201, key.text
    assert key.json()["name"] == "script key"
    only_controls = await salon_app.client.post(
        "/api/albums", json={"name": "\x00\x01"}, headers=headers
    )
    assert only_controls.status_code == 400
    assert "must not be empty" in only_controls.json()["detail"]


async def test_download_names_drop_bidirectional_overrides(salon_app: RunningApp) -> None:
    """U+202E in an uploaded file's name made "photo\\u202egpj.exe" show as "photoexe.jpg" in
    the download's name and in ZIP members; both now carry the name without it."""
    headers = await salon_app.login()
    uploaded = await salon_app.client.post(
        "/api/images",
        files={"file": ("photo\u202egpj.exe", distinct_jpeg(), "image/jpeg")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    image_id = uploaded.json()["id"]
    original = await salon_app.client.get(
        f"/api/images/{image_id}/original", headers=headers, follow_redirects=True
    )
    assert original.status_code == 200
    disposition = original.headers["content-disposition"]
    assert "%E2%80%AE" not in disposition and "photogpj.exe" in disposition
    archive = await salon_app.client.post(
        "/api/images/download", json={"image_ids": [image_id]}, headers=headers
    )
    assert archive.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert names == ["photogpj.exe"], names


async def test_deeply_nested_cursor_is_400_not_500(salon_app: RunningApp) -> None:
    """A cursor of 1000 nested JSON arrays reached json's recursion limit: a 500 with a
    traceback in the log on every request. Now every cursor route says 400."""
    headers = await salon_app.login()
    nested = base64.urlsafe_b64encode(b"[" * 1000 + b"]" * 1000).decode()
    for path in ("/api/images", "/api/images?trashed=true", "/api/videos"):
        separator = "&" if "?" in path else "?"
        answer = await salon_app.client.get(f"{path}{separator}cursor={nested}", headers=headers)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["detail"] == "malformed cursor"


async def test_file_name_and_title_drop_bidi_and_zero_width(salon_app: RunningApp) -> None:
    """The second outside attack found ``metadata.filename`` keeping U+202E ("…\\u202egnp.exe")
    and titles keeping U+200B; both are now cleaned by the same rule."""
    headers = await salon_app.login()
    uploaded = await salon_app.client.post(
        "/api/images",
        files={"file": ("\u2066pho\u200bto\u202egnp.exe\ufeff", distinct_jpeg(), "image/jpeg")},
        data={"title": "ali\u200bce\u2060\u202a"},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["metadata"]["filename"] == "photognp.exe"
    assert body["title"] == "alice"
    renamed = await salon_app.client.patch(
        f"/api/images/{body['id']}", json={"title": "b\u200bob\u2069"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["title"] == "bob"


async def test_titles_and_album_names_drop_blank_lookalikes(salon_app: RunningApp) -> None:
    """The third outside attack's titles and album names kept the Hangul filler U+3164, the
    Braille blank U+2800, the combining grapheme joiner U+034F and U+FFFC (all invisible or
    blank); they are dropped as zero-width spaces are."""
    headers = await salon_app.login()
    uploaded = await salon_app.client.post(
        "/api/images",
        files={"file": ("a\u3164b\u2800.jpg", distinct_jpeg(), "image/jpeg")},
        data={"title": "\u3164ali\u034fce\ufffc\u2800"},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["title"] == "alice"
    assert uploaded.json()["metadata"]["filename"] == "ab.jpg"
    album = await salon_app.client.post(
        "/api/albums", json={"name": "\u2800tr\u034fip\ufffc\u3164"}, headers=headers
    )
    assert album.status_code == 201, album.text
    assert album.json()["name"] == "trip"
    blank = await salon_app.client.post(
        "/api/albums", json={"name": "\u3164\u2800\ufffc"}, headers=headers
    )
    assert blank.status_code == 400, blank.text
