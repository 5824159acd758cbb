"""Account flows through /api/auth with the built-in local provider, including cookie sessions."""

from __future__ import annotations

from salon.testing.fixtures import TEST_PASSWORD, RunningApp


async def test_signup_login_refresh_logout(salon_app: RunningApp) -> None:
    client = salon_app.client
    signup = await client.post(
        "/api/auth/signup", json={"email": "Ann@Example.com", "password": TEST_PASSWORD}
    )
    assert signup.status_code == 201
    assert signup.json()["confirmation_required"] is False
    again = await client.post(
        "/api/auth/signup", json={"email": "ann@example.com", "password": TEST_PASSWORD}
    )
    # The same answer as a new sign-up: sign-up does not tell who has an account.
    assert again.status_code == 201, again.text
    assert set(again.json()) == set(signup.json())
    assert again.json()["id"] != signup.json()["id"]

    wrong = await client.post(
        "/api/auth/login", json={"email": "ann@example.com", "password": "nope-nope-nope"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "bob@example.com", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]

    login = await client.post(
        "/api/auth/login", json={"email": "ann@example.com", "password": TEST_PASSWORD}
    )
    tokens = login.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = await client.get("/api/me", headers=headers)
    assert me.json()["email"] == "ann@example.com"

    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["refresh_token"] != tokens["refresh_token"]
    reused = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert reused.status_code == 401

    login2 = (
        await client.post(
            "/api/auth/login", json={"email": "ann@example.com", "password": TEST_PASSWORD}
        )
    ).json()
    headers2 = {"Authorization": f"Bearer {login2['access_token']}"}
    out = await client.post("/api/auth/logout", headers=headers2)
    assert out.status_code == 200
    assert (await client.get("/api/me", headers=headers2)).status_code == 401
    refresh_after = await client.post(
        "/api/auth/refresh", json={"refresh_token": login2["refresh_token"]}
    )
    assert refresh_after.status_code == 401


async def test_weak_password_and_bad_email_are_400(salon_app: RunningApp) -> None:
    weak = await salon_app.client.post(
        "/api/auth/signup", json={"email": "c@example.com", "password": "short"}
    )
    assert weak.status_code == 400
    bad = await salon_app.client.post(
        "/api/auth/signup", json={"email": "no-at-sign", "password": TEST_PASSWORD}
    )
    assert bad.status_code == 400
    missing = await salon_app.client.post("/api/auth/signup", json={"email": "d@example.com"})
    assert missing.status_code == 400


async def test_cookie_session_requires_csrf_header_for_writes(salon_app: RunningApp) -> None:
    client = salon_app.client
    email = await salon_app.signup()
    login = await client.post(
        "/api/auth/login",
        params={"session": "cookie"},
        json={"email": email, "password": TEST_PASSWORD},
    )
    assert login.status_code == 200
    assert login.json()["access_token"] == "" and login.json()["token_type"] == "cookie"
    set_cookie = " ".join(login.headers.get_list("set-cookie"))
    assert (
        "salon_access=" in set_cookie
        and "HttpOnly" in set_cookie
        and "SameSite=strict" in set_cookie
    )
    csrf = client.cookies.get("salon_csrf")
    assert csrf
    assert (await client.get("/api/me")).status_code == 200
    refused = await client.post("/api/albums", json={"name": "Trips"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    allowed = await client.post(
        "/api/albums", json={"name": "Trips"}, headers={"X-CSRF-Token": csrf}
    )
    assert allowed.status_code == 201


async def test_plain_login_sets_no_cookies(salon_app: RunningApp) -> None:
    email = await salon_app.signup()
    login = await salon_app.client.post(
        "/api/auth/login", json={"email": email, "password": TEST_PASSWORD}
    )
    assert login.headers.get_list("set-cookie") == []
