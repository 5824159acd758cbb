"""The RequestAuthenticator contract suite has teeth: a correct token authenticator passes
every test, and each deliberately broken one (raising on or claiming foreign requests, a
wrong secret answered None, a library's error, a leaked secret, a cookie read, one identity
for everyone, a cache keyed by name alone, per-request state on the object, an early return
for unknown names, a challenge that splits the header) is caught by the test named for it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from contract_support import failures
from salon.errors import InvalidToken
from salon.providers import Identity
from salon.testing import Credentials, RequestAuthenticatorContract

HEADER = "x-salon-token"


def _slow_hash(secret: str) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", secret.encode(), b"kit", 20_000)


_DUMMY = _slow_hash("nobody's secret")


class Tokens:
    """A correct authenticator: ``X-Salon-Token: name.secret``, hashed, compared in constant
    time, a dummy hash checked for unknown names. Subclasses break one rule each."""

    provider = "tokens"
    challenge: str | None = 'Token realm="kit"'

    def __init__(self) -> None:
        self.users: dict[str, bytes] = {}

    def add(self, name: str, secret: str) -> None:
        self.users[name] = _slow_hash(secret)

    def _parse(self, headers: Mapping[str, str]) -> tuple[str, str] | None:
        value = headers.get(HEADER)
        if value is None:
            return None
        name, dot, secret = value.partition(".")
        if not dot or not name:
            raise InvalidToken("malformed token")
        return name, secret

    async def _check(self, name: str, secret: str) -> Identity:
        stored = self.users.get(name)
        digest = await asyncio.to_thread(_slow_hash, secret)
        if not hmac.compare_digest(digest, stored or _DUMMY) or stored is None:
            raise InvalidToken(f"wrong token for {name!r}")
        return Identity(subject=name)

    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None:
        parsed = self._parse(headers)
        return None if parsed is None else await self._check(*parsed)


class RaisesOnForeign(Tokens):
    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None:
        if HEADER not in headers:
            raise InvalidToken("no token")
        return await super().authenticate_request(headers)


class ClaimsBearer(Tokens):
    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None:
        if headers.get("authorization", "").startswith("Bearer "):
            return Identity(subject="bearer")
        return await super().authenticate_request(headers)


class NoneForWrong(Tokens):
    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None:
        try:
            return await super().authenticate_request(headers)
        except InvalidToken:
            return None


class LibraryError(Tokens):
    def _parse(self, headers: Mapping[str, str]) -> tuple[str, str] | None:
        value = headers.get(HEADER)
        if value is None:
            return None
        name, secret = value.split(".")  # ValueError for a malformed value
        return name, secret


class LeaksSecret(Tokens):
    async def _check(self, name: str, secret: str) -> Identity:
        try:
            return await super()._check(name, secret)
        except InvalidToken:
            raise InvalidToken(f"wrong token {name}.{secret}") from None


class LeaksThroughCause(Tokens):
    async def _check(self, name: str, secret: str) -> Identity:
        try:
            return await super()._check(name, secret)
        except InvalidToken:
            raise InvalidToken("wrong token") from ValueError(secret)


class ReadsCookie(Tokens):
    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None:
        headers.get("cookie")  # "just looking"
        return await super().authenticate_request(headers)


class OneIdentity(Tokens):
    async def _check(self, name: str, secret: str) -> Identity:
        await super()._check(name, secret)
        return Identity(subject="admin")


class CachesByName(Tokens):
    def __init__(self) -> None:
        super().__init__()
        self.ok: set[str] = set()

    async def _check(self, name: str, secret: str) -> Identity:
        if name in self.ok:
            return Identity(subject=name)
        identity = await super()._check(name, secret)
        self.ok.add(name)
        return identity


class KeepsRequestOnSelf(Tokens):
    current: tuple[str, str] | None = None

    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None:
        self.current = self._parse(headers)
        await asyncio.sleep(0.001)
        return None if self.current is None else await self._check(*self.current)


class FastUnknown(Tokens):
    async def _check(self, name: str, secret: str) -> Identity:
        if name not in self.users:
            raise InvalidToken("unknown name")
        return await super()._check(name, secret)


class SplitsHeader(Tokens):
    challenge = 'Token realm="kit"\r\nSet-Cookie: x=1'


class ReadsBody(Tokens):
    async def authenticate_request(  # type: ignore[override]
        self, headers: Mapping[str, str], body: bytes = b""
    ) -> Identity | None:
        return await super().authenticate_request(headers)


class ClaimsCoreTokens(RequestAuthenticatorContract):
    claims = ("core_bearer",)


def fixtures(authenticator: Tokens) -> dict[str, Any]:
    async def make() -> Credentials:
        name, secret = f"u{secrets.token_hex(4)}", secrets.token_urlsafe(24)
        authenticator.add(name, secret)
        return Credentials({HEADER: f"{name}.{secret}"}, Identity(subject=name), (secret,))

    async def bad(good: Credentials) -> Sequence[Credentials]:
        assert good.identity is not None
        name, wrong = good.identity.subject, secrets.token_urlsafe(24)
        return [
            Credentials({HEADER: f"{name}.{wrong}"}, secrets=(wrong,)),
            Credentials({HEADER: f"nobody-{secrets.token_hex(4)}.{wrong}"}, secrets=(wrong,)),
            Credentials({HEADER: "no-dot-here"}),
        ]

    known = f"k{secrets.token_hex(4)}"
    authenticator.add(known, secrets.token_urlsafe(24))
    pair = (
        Credentials({HEADER: f"nobody-{secrets.token_hex(4)}.guess-1"}),
        Credentials({HEADER: f"{known}.guess-2"}),
    )
    return {
        "authenticator": authenticator,
        "make_credentials": make,
        "bad_credentials": bad,
        "enumeration_pair": pair,
    }


async def test_a_correct_authenticator_passes_every_test() -> None:
    assert await failures(RequestAuthenticatorContract, fixtures(Tokens())) == {}


async def test_claiming_the_core_tokens_is_refused() -> None:
    failed = await failures(ClaimsCoreTokens, fixtures(Tokens()))
    assert "cannot be claimed" in failed["test_is_a_request_authenticator"]


@pytest.mark.parametrize(
    ("broken", "caught_by", "says"),
    [
        (RaisesOnForeign(), "test_declines_foreign_requests", "raised InvalidToken"),
        (ClaimsBearer(), "test_declines_foreign_requests", "'core_bearer': \"answered"),
        (NoneForWrong(), "test_refuses_bad_credentials_of_its_kind", "answered None"),
        (LibraryError(), "test_refuses_bad_credentials_of_its_kind", "ValueError"),
        (LeaksSecret(), "test_refuses_bad_credentials_of_its_kind", "a secret leaked"),
        (LeaksThroughCause(), "test_refuses_bad_credentials_of_its_kind", "a secret leaked"),
        (ReadsCookie(), "test_never_reads_cookies", "the cookie was read"),
        (OneIdentity(), "test_own_credentials_prove_their_identity", "admin"),
        (CachesByName(), "test_refuses_bad_credentials_of_its_kind", "answered Identity"),
        (KeepsRequestOnSelf(), "test_concurrent_requests_get_their_own_answers", "!="),
        (FastUnknown(), "test_unknown_principal_costs_as_long_as_wrong_secret", "dummy"),
        (SplitsHeader(), "test_is_a_request_authenticator", "one header line"),
        (ReadsBody(), "test_is_a_request_authenticator", "headers only"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Tokens) else None,
)
async def test_a_broken_authenticator_is_caught(broken: Tokens, caught_by: str, says: str) -> None:
    failed = await failures(RequestAuthenticatorContract, fixtures(broken))
    assert caught_by in failed, f"not caught; failed: {failed}"
    assert says in failed[caught_by]
