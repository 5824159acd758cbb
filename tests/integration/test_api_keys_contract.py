"""The built-in API-key authenticator (salon.defaults.api_keys) against the RequestAuthenticator
contract suite, in a running app: keys are made and revoked through the API, and a key's
identity is its owner's local account, read-only unless the key was made for writing."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from salon.db.models import User
from salon.providers import Identity, RequestAuthenticator
from salon.testing import (
    TEST_PASSWORD,
    BadCredentials,
    Credentials,
    MakeCredentials,
    RequestAuthenticatorContract,
    RunningApp,
    running_app,
)
from sqlalchemy import select


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class TestApiKeysContract(RequestAuthenticatorContract):
    claims = ("salon_key",)

    @pytest.fixture
    async def app(self, tmp_path: Path) -> AsyncIterator[RunningApp]:
        async with running_app(tmp_path / "data") as app:
            yield app

    @pytest.fixture
    def authenticator(self, app: RunningApp) -> RequestAuthenticator:
        return dict(app.runtime.authenticators)["api_keys"]

    @pytest.fixture
    def owners(self) -> dict[str, dict[str, str]]:
        """Each key made, and its owner's Authorization header."""
        return {}

    @pytest.fixture
    def make_credentials(
        self, app: RunningApp, owners: dict[str, dict[str, str]]
    ) -> MakeCredentials:
        async def make() -> Credentials:
            email = await app.signup()
            owner = await app.login(email)
            scope = "write" if len(owners) % 2 else "read"
            made = await app.client.post(
                "/api/keys",
                json={"name": "script", "scope": scope, "password": TEST_PASSWORD},
                headers=owner,
            )
            assert made.status_code == 201, made.text
            key = made.json()["key"]
            owners[key] = owner
            async with app.runtime.session_maker() as session:
                user = (await session.execute(select(User).where(User.email == email))).scalar_one()
            identity = Identity(user.subject, email, provider="local", read_only=scope == "read")
            return Credentials(bearer(key), identity, (key,))

        return make

    @pytest.fixture
    def bad_credentials(self, app: RunningApp, owners: dict[str, dict[str, str]]) -> BadCredentials:
        async def bad(good: Credentials) -> Sequence[Credentials]:
            (key,) = good.secrets
            owner = owners[key]
            revoked = await app.client.post(
                "/api/keys",
                json={"name": "old", "scope": "write", "password": TEST_PASSWORD},
                headers=owner,
            )
            old = revoked.json()
            deleted = await app.client.delete(f"/api/keys/{old['id']}", headers=owner)
            assert deleted.status_code == 204, deleted.text
            changed = key[:-1] + ("A" if key[-1] != "A" else "B")
            unknown = "salon_" + secrets.token_urlsafe(32)
            return [
                Credentials(bearer(changed), secrets=(changed,)),
                Credentials(bearer(unknown), secrets=(unknown,)),
                Credentials(bearer(old["key"]), secrets=(old["key"],)),
                Credentials(bearer("salon_")),
            ]

        return bad
