"""Local auth through the HTTP API: the account flows, token rotation and theft detection,
logout, and the clear 4xx answers for bad input (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from salon.testing.fixtures import RunningApp, running_app

PASSWORD = "local-auth-password"
pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
async def app(tmp_path: Path, salon_database: str) -> AsyncIterator[RunningApp]:
    async with running_app(tmp_path / "data", database_url=salon_database) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_signup_login_refresh_logout(app: RunningApp) -> None:
    client = app.client
    signup = await client.post(
        "/api/auth/signup", json={"email": " Grace@Example.com ", "password": PASSWORD}
    )
    assert signup.status_code == 201, signup.text
    assert signup.json()["confirmation_required"] is False
    assert signup.json()["email"] == "grace@example.com"

    login = await client.post(
        "/api/auth/login", json={"email": "GRACE@example.com", "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    first = login.json()
    me = await client.get("/api/me", headers=bearer(first["access_token"]))
    assert me.status_code == 200
    assert me.json()["provider"] == "local"
    assert me.json()["email"] == "grace@example.com"

    rotated = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/me", headers=bearer(second["access_token"]))).status_code == 200

    logout = await client.post("/api/auth/logout", headers=bearer(second["access_token"]))
    assert logout.status_code == 200, logout.text
    for token in (first["access_token"], second["access_token"]):
        assert (await client.get("/api/me", headers=bearer(token))).status_code == 401
    refused = await client.post(
        "/api/auth/refresh", json={"refresh_token": second["refresh_token"]}
    )
    assert refused.status_code == 401


async def test_refresh_token_reuse_ends_the_session(app: RunningApp) -> None:
    await app.login("reuse@example.com", PASSWORD)
    tokens = app.users["reuse@example.com"]
    legit = await app.client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert legit.status_code == 200
    replay = await app.client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert replay.status_code == 401
    new = legit.json()
    assert (await app.client.get("/api/me", headers=bearer(new["access_token"]))).status_code == 401
    again = await app.client.post("/api/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


async def test_account_errors_are_clear_4xx(app: RunningApp) -> None:
    client = app.client
    await app.signup("taken@example.com", PASSWORD)
    cases = [
        ("/api/auth/signup", {"email": "short@example.com", "password": "1234567"}, 400),
        ("/api/auth/signup", {"email": "not-an-email", "password": PASSWORD}, 400),
        ("/api/auth/confirm", {"email": "taken@example.com", "code": "123456"}, 400),
        (
            "/api/auth/confirm-forgot-password",
            {"email": "taken@example.com", "code": "12", "password": PASSWORD},
            400,
        ),
    ]
    for path, body, status in cases:
        answer = await client.post(path, json=body)
        assert answer.status_code == status, (path, body, answer.text)
        assert set(answer.json()) == {"status_code", "detail"}
    wrong = await client.post(
        "/api/auth/login", json={"email": "taken@example.com", "password": "wrong-password"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "ghost@example.com", "password": "wrong-password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_expired_and_forged_tokens_get_401(app: RunningApp) -> None:
    headers = await app.login("forge@example.com", PASSWORD)
    token = headers["Authorization"].removeprefix("Bearer ")
    secret = app.runtime.core.secret_key
    claims = jwt.decode(token, secret, algorithms=["HS256"], issuer="salon")
    now = int(time.time())
    forged = {
        "expired": jwt.encode({**claims, "iat": now - 900, "exp": now - 60}, secret, "HS256"),
        "other_key": jwt.encode(claims, "x" * 64, "HS256"),
        "wrong_typ": jwt.encode({**claims, "typ": "refresh"}, secret, "HS256"),
        "alg_none": jwt.encode(claims, None, "none"),
        "garbage": "garbage",
    }
    for name, bad in forged.items():
        answer = await app.client.get("/api/me", headers=bearer(bad))
        assert answer.status_code == 401, (name, answer.text)
    assert (await app.client.get("/api/me", headers=headers)).status_code == 200
