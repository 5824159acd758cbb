"""/api/auth/* refuses what only another site's page would send (issue 17.9): a body that is
not JSON (a cross-site form can POST text/plain without a preflight), a foreign ``Origin`` or
``Sec-Fetch-Site``; cookie-authenticated refresh and logout need the CSRF double-submit header."""

from __future__ import annotations

import json
from pathlib import Path

from salon.testing.fixtures import RunningApp, running_app

PASSWORD = "a long enough password 1"


async def test_login_requires_a_json_body(salon_app: RunningApp) -> None:
    email = await salon_app.signup("json@example.com", PASSWORD)
    raw = json.dumps({"email": email, "password": PASSWORD})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/plain; a=b"):
        answer = await salon_app.client.post(
            "/api/auth/login", content=raw, headers={"Content-Type": content_type}
        )
        assert answer.status_code == 415, (content_type, answer.text)
        assert "application/json" in answer.json()["detail"]
    ok = await salon_app.client.post(
        "/api/auth/login", content=raw, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 200, ok.text


async def test_cross_site_browsers_are_refused(tmp_path: Path) -> None:
    env = {"SALON_CORS_ORIGINS": "https://app.example.org"}
    async with running_app(tmp_path / "data", env=env) as app:
        email = await app.signup("origin@example.com", PASSWORD)
        body = {"email": email, "password": PASSWORD}
        refused = [
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Origin": "http://127.0.0.1:8000.evil.example"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.127.0.0.1:8000"},
        ]
        for headers in refused:
            answer = await app.client.post("/api/auth/login", json=body, headers=headers)
            assert answer.status_code == 403, (headers, answer.text)
            assert "cross-site" in answer.json()["detail"]
            signup = await app.client.post(
                "/api/auth/signup",
                json={"email": "x@example.com", "password": PASSWORD},
                headers=headers,
            )
            assert signup.status_code == 403, (headers, signup.text)
        allowed = [
            {},  # an API client
            {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},
            {"Origin": "https://app.example.org", "Sec-Fetch-Site": "cross-site"},  # CORS
            {"Sec-Fetch-Site": "none"},
        ]
        for headers in allowed:
            answer = await app.client.post("/api/auth/login", json=body, headers=headers)
            assert answer.status_code == 200, (headers, answer.text)


async def test_cookie_refresh_and_logout_check_csrf(salon_app: RunningApp) -> None:
    email = await salon_app.signup("cookies@example.com", PASSWORD)
    client = salon_app.client
    login = await client.post(
        "/api/auth/login?session=cookie", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    csrf = client.cookies["salon_csrf"]
    bare = await client.post("/api/auth/refresh?session=cookie")
    assert bare.status_code == 403, bare.text
    wrong = await client.post("/api/auth/refresh?session=cookie", headers={"X-CSRF-Token": "no"})
    assert wrong.status_code == 403, wrong.text
    ok = await client.post("/api/auth/refresh?session=cookie", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200, ok.text
    csrf = client.cookies["salon_csrf"]
    assert (await client.post("/api/auth/logout")).status_code == 403
    assert (await client.get("/api/me")).status_code == 200  # still signed in
    out = await client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 200, out.text
