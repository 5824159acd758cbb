"""The htpasswd authenticator against Salon's RequestAuthenticator contract suite: HTTP Basic
is its kind; every other request passes on down the chain."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from pathlib import Path

import pytest
from salon.providers import Identity
from salon.testing import (
    BadCredentials,
    Credentials,
    MakeCredentials,
    RequestAuthenticatorContract,
)
from salon_htpasswd_auth import HtpasswdAuthenticator, hash_password


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class TestHtpasswdContract(RequestAuthenticatorContract):
    claims = ("basic",)

    @pytest.fixture
    def htpasswd(self, tmp_path: Path) -> Path:
        path = tmp_path / "htpasswd"
        path.write_text("# users\n")
        return path

    @pytest.fixture
    def authenticator(self, htpasswd: Path) -> HtpasswdAuthenticator:
        return HtpasswdAuthenticator(htpasswd, realm="photos")

    @pytest.fixture
    def make_credentials(self, htpasswd: Path) -> MakeCredentials:
        async def make() -> Credentials:
            name, password = f"script-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
            with htpasswd.open("a") as file:
                file.write(f"{name}:{hash_password(password)}\n")
            return Credentials(basic(name, password), Identity(subject=name), (password,))

        return make

    @pytest.fixture
    def bad_credentials(self) -> BadCredentials:
        async def bad(good: Credentials) -> Sequence[Credentials]:
            assert good.identity is not None
            wrong = secrets.token_urlsafe(18)
            return [
                Credentials(basic(good.identity.subject, wrong), secrets=(wrong,)),
                Credentials(basic(f"nobody-{secrets.token_hex(4)}", wrong), secrets=(wrong,)),
                Credentials(basic("", wrong), secrets=(wrong,)),
                Credentials({"Authorization": "Basic %%%not-base64"}),
                Credentials({"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}),
            ]

        return bad

    @pytest.fixture
    async def enumeration_pair(
        self, make_credentials: MakeCredentials
    ) -> tuple[Credentials, Credentials]:
        known = await make_credentials()
        assert known.identity is not None
        return (
            Credentials(basic(f"nobody-{secrets.token_hex(4)}", "guess-1")),
            Credentials(basic(known.identity.subject, "guess-2")),
        )
