"""Personal API keys (issue 16.4), the built-in plugin salon.defaults.api_keys on the request-
authentication chain: shown once, hashed at rest, listed without secrets, read-only keys refused
writes, revoked keys refused, another user's keys untouchable, cookie CSRF unchanged, and the
htpasswd example coexisting with keys and local accounts."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sys
import time
from pathlib import Path

from salon.testing import running_app
from salon.testing.fixtures import TEST_PASSWORD
from sqlalchemy import text

HTPASSWD = Path(__file__).resolve().parents[2] / "examples" / "salon-htpasswd-auth"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_keys_act_as_their_owner_scoped_and_revocable(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        owner = await app.login()
        made = await app.client.post(
            "/api/keys",
            json={"name": "backup", "scope": "read", "password": TEST_PASSWORD},
            headers=owner,
        )
        assert made.status_code == 201, made.text
        read_key = made.json()["key"]
        assert read_key.startswith("salon_") and len(read_key) > 40
        me = (await app.client.get("/api/me", headers=owner)).json()
        as_key = await app.client.get("/api/me", headers=bearer(read_key))
        assert as_key.status_code == 200 and as_key.json()["id"] == me["id"]
        # Read-only: a write is 403 before anything is done.
        write = await app.client.post("/api/albums", json={"name": "x"}, headers=bearer(read_key))
        assert write.status_code == 403 and "read-only" in write.text
        writer = await app.client.post(
            "/api/keys",
            json={"name": "sync", "scope": "write", "password": TEST_PASSWORD},
            headers=owner,
        )
        write_key = writer.json()["key"]
        album = await app.client.post("/api/albums", json={"name": "x"}, headers=bearer(write_key))
        assert album.status_code == 201, album.text
        # Listed without secrets; at rest only hashes.
        listed = (await app.client.get("/api/keys", headers=owner)).json()
        assert [k["name"] for k in listed] == ["backup", "sync"]
        assert all("key" not in k for k in listed)
        async with app.runtime.session_maker() as session:
            stored = [r[0] for r in await session.execute(text("SELECT secret_hash FROM api_keys"))]
        assert hashlib.sha256(read_key.encode()).hexdigest() in stored
        assert read_key not in stored
        # Another user can neither see nor revoke them.
        other = await app.login()
        assert (await app.client.get("/api/keys", headers=other)).json() == []
        key_id = made.json()["id"]
        assert (await app.client.delete(f"/api/keys/{key_id}", headers=other)).status_code == 404
        # Revoked: refused with a challenge, the others still work.
        assert (await app.client.delete(f"/api/keys/{key_id}", headers=owner)).status_code == 204
        refused = await app.client.get("/api/me", headers=bearer(read_key))
        assert refused.status_code == 401 and "Bearer" in refused.headers["www-authenticate"]
        assert (await app.client.get("/api/me", headers=bearer(write_key))).status_code == 200
        wrong = await app.client.get("/api/me", headers=bearer("salon_" + "x" * 43))
        assert wrong.status_code == 401


async def test_bad_key_requests_are_400(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        owner = await app.login()
        bodies: list[dict[str, str]] = [
            {"name": "", "password": TEST_PASSWORD},
            {"name": "x", "scope": "admin", "password": TEST_PASSWORD},
            {"nom": "x", "password": TEST_PASSWORD},
            {"name": "x"},  # no password
        ]
        for body in bodies:
            response = await app.client.post("/api/keys", json=body, headers=owner)
            assert response.status_code == 400, (body, response.text)
        assert (await app.client.get("/api/keys", headers=owner)).json() == []
        assert (await app.client.post("/api/keys", json={"name": "x"})).status_code == 401


async def test_htpasswd_keys_and_local_accounts_coexist(tmp_path: Path) -> None:
    sys.path.insert(0, str(HTPASSWD))
    try:
        import salon_htpasswd_auth
    finally:
        sys.path.remove(str(HTPASSWD))
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"proxy:{salon_htpasswd_auth.hash_password('pw for the proxy')}\n")
    env = {"SALON_HTPASSWD_FILE": str(htpasswd)}
    async with running_app(tmp_path / "data", plugins=[salon_htpasswd_auth], env=env) as app:
        owner = await app.login()
        key = (
            await app.client.post(
                "/api/keys", json={"name": "k", "password": TEST_PASSWORD}, headers=owner
            )
        ).json()["key"]
        basic = base64.b64encode(b"proxy:pw for the proxy").decode()
        providers = []
        for headers in (owner, bearer(key), {"Authorization": f"Basic {basic}"}):
            response = await app.client.get("/api/me", headers=headers)
            assert response.status_code == 200, response.text
            providers.append(response.json()["provider"])
        assert providers == ["local", "local", "htpasswd"]


async def test_minting_counts_in_the_address_sign_in_limit(tmp_path: Path) -> None:
    """A password check like a sign-in: the address's SALON_AUTH_RATE_LIMIT holds here too."""
    async with running_app(tmp_path / "data", env={"SALON_AUTH_RATE_LIMIT": "3"}) as app:
        if time.time() % 60 > 50:  # the address limit counts calendar minutes: stay in one
            await asyncio.sleep(61 - time.time() % 60)
        owner = await app.login()  # one of the address's 3 sign-in attempts this minute
        body = {"name": "k", "password": "a guessed password"}
        answers = [await app.client.post("/api/keys", json=body, headers=owner) for _ in range(3)]
        assert [a.status_code for a in answers] == [400, 400, 429], [a.text for a in answers]
        assert "requests from your address" in answers[-1].json()["detail"]
        assert (await app.client.get("/api/keys", headers=owner)).json() == []
