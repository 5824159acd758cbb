"""The AuthProvider contract against the built-in local auth, on SQLite and on PostgreSQL
(when SALON_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from argon2 import PasswordHasher
from salon.db.models import metadata
from salon.defaults.local_auth import LocalAuthProvider
from salon.testing.contracts.auth import (
    STRONG_PASSWORD,
    AuthProviderContract,
    MakeUser,
    unique_email,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

SECRET = "contract-test-secret-key-that-is-long-enough-for-hs256"
# Cheap argon2 parameters keep the suite fast; the unit tests exercise the real defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


async def _sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'auth.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def _postgres_engine() -> AsyncIterator[AsyncEngine]:
    url = os.environ.get("SALON_TEST_POSTGRES_URL")
    if not url:
        print("SALON_TEST_POSTGRES_URL is not set: skipping the PostgreSQL run")
        pytest.skip("SALON_TEST_POSTGRES_URL is not set")
    # A schema of our own, so tests sharing the database never see these tables.
    schema = f"auth_test_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    factory = _sqlite_engine(tmp_path) if request.param == "sqlite" else _postgres_engine()
    async for engine in factory:
        yield engine


class TestLocalAuthContract(AuthProviderContract):
    refresh_rotates = True
    reuse_revokes_session = True
    logout_scope = "session"

    @pytest.fixture
    def auth_provider(self, engine: AsyncEngine) -> LocalAuthProvider:
        return LocalAuthProvider(
            async_sessionmaker(engine, expire_on_commit=False),
            secret_key=SECRET,
            access_token_ttl=300,
            hasher=FAST_HASHER,
        )

    @pytest.fixture
    def make_user(self, auth_provider: LocalAuthProvider) -> MakeUser:
        async def make() -> tuple[str, str]:
            email = unique_email()
            await auth_provider.signup(email, STRONG_PASSWORD)
            return email, STRONG_PASSWORD

        return make

    @pytest.fixture
    async def expired_access_token(
        self, auth_provider: LocalAuthProvider, make_user: MakeUser
    ) -> str:
        """A genuine token of a live session, re-signed with its expiry in the past."""
        pair = await auth_provider.login(*(await make_user()))
        claims = jwt.decode(pair.access_token, SECRET, algorithms=["HS256"], issuer="salon")
        now = int(time.time())
        claims.update(iat=now - 600, exp=now - 60)
        return jwt.encode(claims, SECRET, algorithm="HS256")
