"""Text the databases disagree on: NUL characters (JSON and SQLite take them, PostgreSQL does
not). On both databases every route answers a 4xx or stores the value, never a 5xx, and a
refused upload leaves nothing behind."""

from __future__ import annotations

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
