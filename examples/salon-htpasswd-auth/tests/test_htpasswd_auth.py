"""The htpasswd example beside local accounts: Basic users and Bearer users coexist, wrong
passwords are 401 with a Basic challenge and count against the sign-in rate limit, passwords
never reach the log, and requests without Basic credentials fall through to the provider."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import salon_htpasswd_auth
from salon.testing import running_app
from salon_htpasswd_auth import hash_password

PASSWORD = "correct horse battery staple"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def htpasswd(tmp_path: Path) -> Path:
    path = tmp_path / "htpasswd"
    path.write_text(f"# scripts\nbackup:{hash_password(PASSWORD)}\n")
    return path


async def test_basic_and_bearer_users_coexist(tmp_path: Path, htpasswd: Path) -> None:
    env = {"SALON_HTPASSWD_FILE": str(htpasswd)}
    async with running_app(tmp_path / "data", plugins=[salon_htpasswd_auth], env=env) as app:
        as_basic = await app.client.get("/api/me", headers=basic("backup", PASSWORD))
        assert as_basic.status_code == 200, as_basic.text
        assert as_basic.json()["provider"] == "htpasswd"
        bearer = await app.login()
        as_local = await app.client.get("/api/me", headers=bearer)
        assert as_local.status_code == 200 and as_local.json()["provider"] == "local"
        assert as_local.json()["id"] != as_basic.json()["id"]
        # The same Basic user again is the same account (cached check, same row).
        again = await app.client.get("/api/me", headers=basic("backup", PASSWORD))
        assert again.json()["id"] == as_basic.json()["id"]


async def test_wrong_or_missing_credentials_are_401_with_challenges(
    tmp_path: Path, htpasswd: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {"SALON_HTPASSWD_FILE": str(htpasswd), "SALON_HTPASSWD_REALM": "photos"}
    async with running_app(tmp_path / "data", plugins=[salon_htpasswd_auth], env=env) as app:
        with caplog.at_level(logging.DEBUG):
            wrong = await app.client.get("/api/me", headers=basic("backup", "guess-123"))
            unknown = await app.client.get("/api/me", headers=basic("nobody", "guess-456"))
            garbled = await app.client.get("/api/me", headers={"Authorization": "Basic %%%"})
            anonymous = await app.client.get("/api/me")
        for response in (wrong, unknown, garbled, anonymous):
            assert response.status_code == 401, response.text
            challenge = response.headers["www-authenticate"]
            assert challenge.startswith("Bearer") and 'Basic realm="photos"' in challenge
        assert "guess-123" not in caplog.text and "guess-456" not in caplog.text


async def test_wrong_basic_passwords_are_rate_limited(tmp_path: Path, htpasswd: Path) -> None:
    env = {"SALON_HTPASSWD_FILE": str(htpasswd), "SALON_AUTH_RATE_LIMIT": "3"}
    async with running_app(tmp_path / "data", plugins=[salon_htpasswd_auth], env=env) as app:
        codes = [
            (await app.client.get("/api/me", headers=basic("backup", f"no-{i}"))).status_code
            for i in range(5)
        ]
        assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


async def test_cookie_writes_still_need_csrf(tmp_path: Path, htpasswd: Path) -> None:
    env = {"SALON_HTPASSWD_FILE": str(htpasswd)}
    async with running_app(tmp_path / "data", plugins=[salon_htpasswd_auth], env=env) as app:
        bearer = await app.login()
        token = bearer["Authorization"].removeprefix("Bearer ")
        app.client.cookies.set("salon_access", token)
        response = await app.client.post("/api/albums", json={"name": "x"})
        assert response.status_code == 403 and "CSRF" in response.text


def test_hash_command_prints_a_line_the_plugin_accepts(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "salon_htpasswd_auth", "alice"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(Path(salon_htpasswd_auth.__file__).parents[1])},
    )
    name, _, hashed = out.stdout.strip().partition(":")
    assert name == "alice" and hashed.startswith("$argon2id$")
    assert PASSWORD not in out.stdout
