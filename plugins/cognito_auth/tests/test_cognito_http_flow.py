"""The whole gallery with Cognito accounts, moto server standing in for Cognito: the plugin is
found by its entry point, selected with SALON_AUTH=cognito, and driven through /api/auth/*."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg
from salon.testing.moto import MotoServer
from salon_cognito_auth.testing import Pool, make_pool, moto_signing_key, unverified_claims

PASSWORD = "Gallery-Pass-42"


@pytest.fixture
async def app(tmp_path: Path, aws_env: MotoServer) -> AsyncIterator[tuple[RunningApp, Pool]]:
    pool = make_pool(aws_env.endpoint_url)
    async with running_app(tmp_path / "data", env=pool.env()) as running:
        yield running, pool


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_signup_confirm_login_upload_refresh_logout(
    app: tuple[RunningApp, Pool],
) -> None:
    running, _pool = app
    client = running.client
    assert type(running.runtime.auth).__name__ == "CognitoAuthProvider"
    credentials = {"email": "Ada@Example.com", "password": PASSWORD}

    signup = await client.post("/api/auth/signup", json=credentials)
    assert signup.status_code == 201, signup.text
    assert signup.json()["confirmation_required"] is True
    assert signup.json()["email"] == "ada@example.com"

    early = await client.post("/api/auth/login", json=credentials)
    assert early.status_code == 403, early.text  # not confirmed yet

    # moto accepts any confirmation code (it sends no e-mail); the route and mapping are real.
    confirm = await client.post(
        "/api/auth/confirm", json={"email": "ada@example.com", "code": "123456"}
    )
    assert confirm.status_code == 200, confirm.text

    login = await client.post("/api/auth/login", json=credentials)
    assert login.status_code == 200, login.text
    tokens = login.json()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0

    me = await client.get("/api/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["provider"] == "cognito"
    assert me.json()["email"] == "ada@example.com"

    upload = await running.upload(bearer(tokens["access_token"]), title="first")
    assert upload.status_code == 201, upload.text
    image_id = upload.json()["id"]

    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    renewed = refreshed.json()
    assert renewed["refresh_token"] == tokens["refresh_token"]  # Cognito does not rotate
    listing = await client.get("/api/images", headers=bearer(renewed["access_token"]))
    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["items"]] == [image_id]

    logout = await client.post("/api/auth/logout", headers=bearer(renewed["access_token"]))
    assert logout.status_code == 200, logout.text

    for token in (tokens["access_token"], renewed["access_token"]):
        rejected = await client.get("/api/images", headers=bearer(token))
        assert rejected.status_code == 401, rejected.text
        assert token not in rejected.text
    again = await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401, again.text

    # A new login works and still owns the image: users are mapped by Cognito's sub.
    relogin = await client.post("/api/auth/login", json=credentials)
    assert relogin.status_code == 200
    mine = await client.get(
        f"/api/images/{image_id}", headers=bearer(relogin.json()["access_token"])
    )
    assert mine.status_code == 200


async def _confirmed_user(running: RunningApp, pool: Pool, email: str) -> dict[str, str]:
    signup = await running.client.post(
        "/api/auth/signup", json={"email": email, "password": PASSWORD}
    )
    assert signup.status_code == 201, signup.text
    pool.confirm(email)
    login = await running.client.post(
        "/api/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    tokens: dict[str, str] = login.json()
    return tokens


async def test_other_users_images_are_not_found(app: tuple[RunningApp, Pool]) -> None:
    running, pool = app
    alice = await _confirmed_user(running, pool, "alice@example.com")
    bob = await _confirmed_user(running, pool, "bob@example.com")
    upload = await running.upload(bearer(alice["access_token"]), data=sample_jpeg(color=(1, 2, 3)))
    assert upload.status_code == 201
    answer = await running.client.get(
        f"/api/images/{upload.json()['id']}", headers=bearer(bob["access_token"])
    )
    assert answer.status_code == 404


async def test_account_errors_map_to_clear_4xx(app: tuple[RunningApp, Pool]) -> None:
    running, pool = app
    client = running.client
    await _confirmed_user(running, pool, "carol@example.com")

    wrong = await client.post(
        "/api/auth/login", json={"email": "carol@example.com", "password": "Wrong-Pass-1"}
    )
    unknown = await client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": "Wrong-Pass-1"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()

    exists = await client.post(
        "/api/auth/signup", json={"email": "carol@example.com", "password": PASSWORD}
    )
    # Answered like a new sign-up (a code to confirm): sign-up does not reveal accounts.
    assert exists.status_code == 201, exists.text
    assert exists.json()["confirmation_required"] is True
    weak = await client.post(
        "/api/auth/signup", json={"email": "dave@example.com", "password": "alllowercase"}
    )
    assert weak.status_code == 400
    assert "assword" in weak.json()["detail"]

    forgot_unknown = await client.post(
        "/api/auth/forgot-password", json={"email": "nobody@example.com"}
    )
    assert forgot_unknown.status_code == 200
    forgot = await client.post("/api/auth/forgot-password", json={"email": "carol@example.com"})
    assert forgot.status_code == 200
    # moto checks codes that carry its prefix against the one it issued.
    bad_code = await client.post(
        "/api/auth/confirm-forgot-password",
        json={
            "email": "carol@example.com",
            "code": "moto-confirmation-code:000000",
            "password": "New-Pass-123",
        },
    )
    assert bad_code.status_code == 400, bad_code.text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_forged_tokens_get_401(app: tuple[RunningApp, Pool]) -> None:
    running, pool = app
    tokens = await _confirmed_user(running, pool, "erin@example.com")
    genuine = tokens["access_token"]
    header, payload, signature = genuine.split(".")
    claims = unverified_claims(genuine)
    now = int(time.time())
    key = jwt.PyJWK(moto_signing_key()).key
    forged = {
        "alg_none": f"{_b64(json.dumps({'alg': 'none', 'kid': 'dummy'}).encode())}.{payload}.",
        "tampered": ".".join(
            [header, _b64(json.dumps({**claims, "sub": "someone-else"}).encode()), signature]
        ),
        "expired": jwt.encode(
            {**claims, "iat": now - 7200, "exp": now - 3600},
            key,
            algorithm="RS256",
            headers={"kid": "dummy"},
        ),
        "wrong_client": jwt.encode(
            {**claims, "client_id": "someone-elses-app"},
            key,
            algorithm="RS256",
            headers={"kid": "dummy"},
        ),
        "garbage": "not-a-token",
    }
    for name, token in forged.items():
        answer = await running.client.get("/api/images", headers=bearer(token))
        assert answer.status_code == 401, (name, answer.text)
        assert set(answer.json()) == {"status_code", "detail"}
    assert (await running.client.get("/api/images", headers=bearer(genuine))).status_code == 200


async def test_a_password_change_signs_this_session_out_too(app: tuple[RunningApp, Pool]) -> None:
    """Cognito cannot end only the other sessions: the answer says this one ended as well and
    clears the browser's cookies, and the old token is refused (the UI then goes to /login)."""
    running, pool = app
    tokens = await _confirmed_user(running, pool, "pat@example.com")
    changed = await running.client.post(
        "/api/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "Changed-Pass-77"},
        headers=bearer(tokens["access_token"]),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["signed_out"] is True, changed.json()
    assert "sign in with the new password" in changed.json()["detail"]
    cleared = changed.headers.get_list("set-cookie")
    assert any(c.startswith("salon_access=") and "Max-Age=0" in c for c in cleared), cleared
    me = await running.client.get("/api/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401, me.text
    again = await running.client.post(
        "/api/auth/login", json={"email": "pat@example.com", "password": "Changed-Pass-77"}
    )
    assert again.status_code == 200, again.text


async def test_a_lookalike_address_is_answered_as_taken_and_not_made(
    app: tuple[RunningApp, Pool],
) -> None:
    """An all-Cyrillic "copex" looks like the Latin one: the sign-up route answers it as a
    taken address without asking Cognito, so no Cognito account is made for it."""
    running, _pool = app
    client = running.client
    made = await client.post(
        "/api/auth/signup", json={"email": "copex@example.com", "password": PASSWORD}
    )
    assert made.status_code == 201, made.text
    lookalike = {"email": "\u0441\u043e\u0440\u0435\u0445@example.com", "password": PASSWORD}
    answer = await client.post("/api/auth/signup", json=lookalike)
    assert answer.status_code == 201, answer.text
    assert set(answer.json()) == set(made.json())
    assert answer.json()["confirmation_required"] is True
    # The real sign-up exists, unconfirmed (403); the lookalike has no account at all (401).
    real = await client.post(
        "/api/auth/login", json={"email": "copex@example.com", "password": PASSWORD}
    )
    assert real.status_code == 403, real.text
    assert (await client.post("/api/auth/login", json=lookalike)).status_code == 401
