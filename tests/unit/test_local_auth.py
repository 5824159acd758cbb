"""Unit tests of the built-in local auth provider (salon.defaults.local_auth) on SQLite."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import jwt
import pytest
from argon2 import PasswordHasher
from salon.db.models import LocalAccount, RefreshToken, metadata
from salon.defaults import local_auth
from salon.defaults.local_auth import LocalAuthProvider, normalize_email
from salon.errors import AuthError, ConfigurationError, InvalidToken
from salon.plugins import DEFAULT_PLUGINS, collect_registry, make_plugin_manager
from salon.providers import ProviderContext
from salon.settings import CoreSettings
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

SECRET = "unit-test-secret-key-long-enough-for-hs256-signing"
PASSWORD = "Sufficiently-long-1"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def auth(sessions: async_sessionmaker[Any]) -> LocalAuthProvider:
    return LocalAuthProvider(sessions, secret_key=SECRET, access_token_ttl=600, hasher=FAST)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET, algorithms=["HS256"], issuer="salon")


def resign(token: str, *, algorithm: str = "HS256", key: Any = SECRET, **changes: Any) -> str:
    claims = claims_of(token)
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key, algorithm=algorithm)


# ------------------------------------------------------------------ e-mail and password policy


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Alice@Example.COM ", "alice@example.com"),
        ("b.c+tag@sub.example.org", "b.c+tag@sub.example.org"),
    ],
)
def test_normalize_email(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "no-at-sign",
        "a@b",
        "a b@example.com",
        "@example.com",
        "a@@example.com",
        "x@" + "y" * 320 + ".com",
        "a@example.",
    ],
)
async def test_signup_refuses_invalid_email(auth: LocalAuthProvider, raw: str) -> None:
    with pytest.raises(AuthError) as caught:
        await auth.signup(raw, PASSWORD)
    assert caught.value.code == "invalid_email"


async def test_password_policy_boundaries(auth: LocalAuthProvider) -> None:
    with pytest.raises(AuthError) as caught:
        await auth.signup("seven@example.com", "1234567")
    assert caught.value.code == "weak_password"
    assert "8" in str(caught.value)
    with pytest.raises(AuthError) as caught:
        await auth.signup("huge@example.com", "x" * 1025)
    assert caught.value.code == "weak_password"
    with pytest.raises(AuthError) as caught:
        await auth.signup("eight@example.com", "12345678")  # long enough, but too common
    assert caught.value.code == "weak_password" and "common" in str(caught.value)
    result = await auth.signup("eight@example.com", "k3#pQ9zW")
    assert result.identity.email == "eight@example.com"
    assert result.confirmation_required is False


async def test_login_with_invalid_email_is_invalid_credentials(auth: LocalAuthProvider) -> None:
    with pytest.raises(AuthError) as caught:
        await auth.login("not an email", PASSWORD)
    assert caught.value.code == "invalid_credentials"


async def test_duplicate_signup_with_other_case_is_refused(auth: LocalAuthProvider) -> None:
    await auth.signup("dup@example.com", PASSWORD)
    with pytest.raises(AuthError) as caught:
        await auth.signup(" DUP@example.com", PASSWORD)
    assert caught.value.code == "user_exists"


async def test_concurrent_signups_create_one_account(
    auth: LocalAuthProvider, sessions: async_sessionmaker[Any]
) -> None:
    outcomes: list[str] = []

    async def attempt() -> None:
        try:
            await auth.signup("race@example.com", PASSWORD)
            outcomes.append("ok")
        except AuthError as exc:
            outcomes.append(exc.code)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(attempt)
    assert sorted(outcomes) == ["ok", "user_exists", "user_exists", "user_exists"]
    async with sessions() as session:
        rows = (await session.scalars(select(LocalAccount))).all()
    assert len(rows) == 1


# ------------------------------------------------------------------ storage of secrets


async def test_password_and_refresh_token_are_stored_hashed(
    sessions: async_sessionmaker[Any],
) -> None:
    auth = LocalAuthProvider(sessions, secret_key=SECRET)  # the real argon2 defaults
    await auth.signup("hash@example.com", PASSWORD)
    pair = await auth.login("hash@example.com", PASSWORD)
    async with sessions() as session:
        account = await session.scalar(select(LocalAccount))
        token = await session.scalar(select(RefreshToken))
    assert account is not None and token is not None
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert token.token_hash == hashlib.sha256(pair.refresh_token.encode()).hexdigest()
    assert pair.refresh_token not in token.token_hash


async def test_hashing_runs_off_the_event_loop(sessions: async_sessionmaker[Any]) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    class SpyHasher(PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            threads.append(threading.get_ident())
            return super().hash(password, salt=salt)

        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            threads.append(threading.get_ident())
            return super().verify(hash, password)

    auth = LocalAuthProvider(
        sessions, secret_key=SECRET, hasher=SpyHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    await auth.signup("thread@example.com", PASSWORD)
    await auth.login("thread@example.com", PASSWORD)
    assert len(threads) == 2
    assert loop_thread not in threads


async def test_unknown_user_costs_a_hash_verification(sessions: async_sessionmaker[Any]) -> None:
    """Timing parity: an unknown e-mail still runs one argon2 verify (on a dummy hash)."""
    calls: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append("verify")
            return super().verify(hash, password)

    auth = LocalAuthProvider(
        sessions,
        secret_key=SECRET,
        hasher=CountingHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    await auth.signup("known@example.com", PASSWORD)
    for email in ("known@example.com", "unknown@example.com"):
        with pytest.raises(AuthError) as caught:
            await auth.login(email, "wrong-password")
        assert caught.value.code == "invalid_credentials"
    assert calls == ["verify", "verify"]


async def test_login_rehashes_with_new_parameters(sessions: async_sessionmaker[Any]) -> None:
    weak = LocalAuthProvider(sessions, secret_key=SECRET, hasher=FAST)
    await weak.signup("rehash@example.com", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    await LocalAuthProvider(sessions, secret_key=SECRET, hasher=stronger).login(
        "rehash@example.com", PASSWORD
    )
    async with sessions() as session:
        account = await session.scalar(select(LocalAccount))
    assert account is not None
    assert "m=2048,t=2" in account.password_hash
    await weak.login("rehash@example.com", PASSWORD)  # the new hash still verifies


# ------------------------------------------------------------------ access tokens


async def test_access_token_claims(auth: LocalAuthProvider) -> None:
    signup = await auth.signup("claims@example.com", PASSWORD)
    pair = await auth.login("claims@example.com", PASSWORD)
    assert jwt.get_unverified_header(pair.access_token)["alg"] == "HS256"
    claims = claims_of(pair.access_token)
    assert claims["sub"] == signup.identity.subject
    assert claims["email"] == "claims@example.com"
    assert claims["typ"] == "access"
    assert claims["iss"] == "salon"
    assert claims["exp"] - claims["iat"] == 600 == pair.expires_in
    assert abs(claims["iat"] - time.time()) < 5
    uuid.UUID(claims["sid"])


@pytest.mark.parametrize(
    "changes",
    [
        {"typ": "refresh"},
        {"typ": None},
        {"iss": "someone-else"},
        {"iss": None},
        {"sid": None},
        {"sid": "not-a-uuid"},
        {"sid": str(uuid.uuid4())},
        {"sub": str(uuid.uuid4())},
        {"sub": None},
        {"exp": None},
        {"exp": int(time.time()) - 1},
    ],
    ids=lambda c: ",".join(f"{k}={'missing' if v is None else v}" for k, v in c.items()),
)
async def test_tokens_with_bad_claims_are_refused(
    auth: LocalAuthProvider, changes: dict[str, Any]
) -> None:
    await auth.signup("bad-claims@example.com", PASSWORD)
    pair = await auth.login("bad-claims@example.com", PASSWORD)
    with pytest.raises(InvalidToken):
        await auth.authenticate(resign(pair.access_token, **changes))


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_only_hs256_is_accepted(auth: LocalAuthProvider, algorithm: str) -> None:
    await auth.signup("alg@example.com", PASSWORD)
    pair = await auth.login("alg@example.com", PASSWORD)
    with pytest.raises(InvalidToken):
        await auth.authenticate(resign(pair.access_token, algorithm=algorithm))


async def test_token_signed_with_another_key_is_refused(auth: LocalAuthProvider) -> None:
    await auth.signup("key@example.com", PASSWORD)
    pair = await auth.login("key@example.com", PASSWORD)
    forged = resign(pair.access_token, key="another-secret-key-of-sufficient-length-0123")
    with pytest.raises(InvalidToken):
        await auth.authenticate(forged)


async def test_failure_reason_is_logged_not_raised(
    auth: LocalAuthProvider, caplog: pytest.LogCaptureFixture
) -> None:
    await auth.signup("log@example.com", PASSWORD)
    pair = await auth.login("log@example.com", PASSWORD)
    expired = resign(pair.access_token, exp=int(time.time()) - 10)
    with (
        caplog.at_level("INFO", logger="salon.auth.local"),
        pytest.raises(InvalidToken) as caught,
    ):
        await auth.authenticate(expired)
    assert "expired" in caplog.text
    assert expired not in caplog.text
    assert expired not in str(caught.value)


# ------------------------------------------------------------------ refresh and logout


async def test_expired_refresh_token_is_refused(sessions: async_sessionmaker[Any]) -> None:
    auth = LocalAuthProvider(sessions, secret_key=SECRET, refresh_token_ttl=-1, hasher=FAST)
    await auth.signup("old@example.com", PASSWORD)
    pair = await auth.login("old@example.com", PASSWORD)
    with pytest.raises(InvalidToken):
        await auth.refresh(pair.refresh_token)


async def test_refresh_keeps_the_session_and_marks_the_old_token_used(
    auth: LocalAuthProvider, sessions: async_sessionmaker[Any]
) -> None:
    await auth.signup("rotate@example.com", PASSWORD)
    pair = await auth.login("rotate@example.com", PASSWORD)
    renewed = await auth.refresh(pair.refresh_token)
    assert claims_of(renewed.access_token)["sid"] == claims_of(pair.access_token)["sid"]
    async with sessions() as session:
        rows = {r.token_hash: r for r in (await session.scalars(select(RefreshToken))).all()}
    old = rows[hashlib.sha256(pair.refresh_token.encode()).hexdigest()]
    new = rows[hashlib.sha256(renewed.refresh_token.encode()).hexdigest()]
    assert old.used_at is not None and old.revoked_at is None
    assert new.used_at is None and new.session_id == old.session_id


async def test_concurrent_refresh_with_one_token_lets_at_most_one_through(
    auth: LocalAuthProvider,
) -> None:
    await auth.signup("concurrent@example.com", PASSWORD)
    pair = await auth.login("concurrent@example.com", PASSWORD)
    results: list[str] = []

    async def attempt() -> None:
        try:
            await auth.refresh(pair.refresh_token)
            results.append("ok")
        except InvalidToken:
            results.append("refused")
        except Exception as exc:  # SQLite may refuse the second writer outright
            results.append(type(exc).__name__)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(attempt)
    assert results.count("ok") <= 1


async def test_logout_accepts_an_expired_genuine_token(auth: LocalAuthProvider) -> None:
    await auth.signup("late@example.com", PASSWORD)
    pair = await auth.login("late@example.com", PASSWORD)
    await auth.logout(resign(pair.access_token, exp=int(time.time()) - 100))
    with pytest.raises(InvalidToken):
        await auth.refresh(pair.refresh_token)


async def test_logout_refuses_a_forged_token(auth: LocalAuthProvider) -> None:
    await auth.signup("forge-logout@example.com", PASSWORD)
    pair = await auth.login("forge-logout@example.com", PASSWORD)
    forged = resign(pair.access_token, key="another-secret-key-of-sufficient-length-0123")
    with pytest.raises(InvalidToken):
        await auth.logout(forged)
    await auth.authenticate(pair.access_token)  # the session is untouched


async def test_set_password_ends_every_session(auth: LocalAuthProvider) -> None:
    await auth.signup("reset@example.com", PASSWORD)
    pair = await auth.login("reset@example.com", PASSWORD)
    await auth.set_password("reset@example.com", "A-brand-new-password")
    with pytest.raises(InvalidToken):
        await auth.authenticate(pair.access_token)
    with pytest.raises(AuthError):
        await auth.login("reset@example.com", PASSWORD)
    await auth.login("reset@example.com", "A-brand-new-password")


async def test_confirmation_codes_are_unsupported(auth: LocalAuthProvider) -> None:
    with pytest.raises(AuthError) as caught:
        await auth.confirm("a@example.com", "123456")
    assert caught.value.code == "unsupported"


async def test_reset_by_mail_is_unsupported_without_a_mail_sender(auth: LocalAuthProvider) -> None:
    with pytest.raises(AuthError) as caught:
        await auth.forgot_password("a@example.com")
    assert caught.value.code == "unsupported"
    assert "administrator" in str(caught.value)
    with pytest.raises(AuthError) as refused:
        await auth.confirm_forgot_password("a@example.com", "123456", PASSWORD)
    assert refused.value.code == "invalid_code"


# ------------------------------------------------------------------ plugin wiring


def test_plugin_offers_local(sessions: async_sessionmaker[Any], tmp_path: Path) -> None:
    others = [p for p in DEFAULT_PLUGINS if p != "salon.defaults.local_auth"]
    pm = make_plugin_manager(others, include_entry_points=False)
    registry = collect_registry(pm)
    offer = registry.offer("auth", "local")
    assert offer.plugin == "salon.defaults.local_auth"
    core = CoreSettings(data_dir=tmp_path, secret_key=SECRET)
    provider = offer.factory(
        ProviderContext(core=core, settings=None, data_dir=tmp_path, database=sessions)
    )
    assert isinstance(provider, LocalAuthProvider)


def test_factory_needs_database_and_secret(
    tmp_path: Path, sessions: async_sessionmaker[Any]
) -> None:
    core = CoreSettings(data_dir=tmp_path, secret_key=SECRET)
    with pytest.raises(ConfigurationError):
        local_auth.LocalAuthProvider.from_context(
            ProviderContext(core=core, settings=None, data_dir=tmp_path)
        )
    with pytest.raises(ConfigurationError):
        LocalAuthProvider(sessions, secret_key="")
