"""Personal API keys, for scripts: a built-in plugin registered exactly like a third-party one
(``DEFAULT_PLUGINS``; switch it off with ``SALON_DISABLE_PLUGINS=salon.defaults.api_keys``).

- ``POST /api/keys`` ``{"name": ..., "password": ..., "scope": "read"|"write"}`` makes a key
  for the signed-in user, who gives their current password again (a wrong one counts as a
  failed sign-in; the route is in the address's sign-in rate limit), and answers it once
  (``key``); ``GET /api/keys`` lists the user's keys without secrets;
  ``DELETE /api/keys/{id}`` revokes one.
- A key is sent as ``Authorization: Bearer salon_...``. It is one link of the request-
  authentication chain (hook ``register_request_authenticators``): it acts as its owner, and a
  ``read`` key is refused every write (403), except a route that only reads with a POST
  (``POST /api/images/download``).
- A password change, a reset, ``salon user set-password`` and "sign out everywhere" revoke
  every key of the account.
- Only the SHA-256 of the key is stored. Keys are 256 random bits, so a fast hash is enough
  (nothing to guess from it) and the lookup by hash compares no secret in Python.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.config.app import AppConfig
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon import hookimpl
from salon.db.models import ApiKey, User
from salon.domain.auth.credentials import confirm_password
from salon.domain.auth.throttle import throttle_guard
from salon.domain.deps import CurrentUser, RuntimeDep
from salon.errors import ConfigurationError, InvalidToken
from salon.providers import Identity, ProviderContext, RequestAuthenticator
from salon.text import clean_text

PREFIX = "salon_"
MAX_KEYS_PER_USER = 50


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKeyAuthenticator:
    """The chain link: ``Bearer salon_...`` is an API key; any other token is not ours."""

    provider = "api_keys"
    challenge: str | None = None  # keys travel as Bearer: the core's challenge covers them

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @staticmethod
    def may_claim_bearer(token: str) -> bool:
        """Whether a request carrying only this bearer token could be ours (the cached
        listing, ``salon.domain.images.cached_listing``, leaves those to the router)."""
        return token.startswith(PREFIX)

    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith(PREFIX):
            return None
        query = (
            select(ApiKey.scope, User.provider, User.subject, User.email)
            .join(User, User.id == ApiKey.user_id)
            .where(ApiKey.secret_hash == _hash(token), ApiKey.revoked_at.is_(None))
        )
        async with self._sessions() as session:
            row = (await session.execute(query)).one_or_none()
        if row is None:
            raise InvalidToken("unknown or revoked API key")  # never the key itself
        scope, provider, subject, email = row
        return Identity(subject, email, provider=provider, read_only=scope != "write")


class KeyIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    password: Annotated[str, msgspec.Meta(max_length=1024)]
    """The account's current password: a key outlives sessions, so a stolen session alone
    must not be able to make one."""
    scope: Literal["read", "write"] = "read"


class KeyOut(msgspec.Struct):
    id: str
    name: str
    scope: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class NewKeyOut(KeyOut, kw_only=True):
    key: str
    """The key itself: shown in this answer only, never again."""


def _out(row: ApiKey) -> KeyOut:
    return KeyOut(str(row.id), row.name, row.scope, row.created_at, row.revoked_at)


class ApiKeyController(Controller):
    path = "/api/keys"
    tags = ["api keys"]

    # A password check: in the client address's sign-in bucket too (SALON_AUTH_RATE_LIMIT).
    @post(
        operation_id="create_api_key",
        status_code=HTTP_201_CREATED,
        guards=[throttle_guard],
        opt={"rate_bucket": "login"},
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[KeyIn],
        current_user: CurrentUser,
        runtime: RuntimeDep,
    ) -> NewKeyOut:
        name = clean_text(data.name)
        if not 1 <= len(name) <= 100:
            raise ValidationException("name must be 1 to 100 characters")
        await confirm_password(request, current_user, data.password)
        key = PREFIX + secrets.token_urlsafe(32)
        async with runtime.session_maker() as session:
            count = await session.execute(
                select(ApiKey.id).where(ApiKey.user_id == current_user.id)
            )
            if len(count.all()) >= MAX_KEYS_PER_USER:
                raise ValidationException(f"at most {MAX_KEYS_PER_USER} keys per user")
            row = ApiKey(user_id=current_user.id, name=name, scope=data.scope)
            row.secret_hash = _hash(key)
            session.add(row)
            await session.commit()
            out = _out(row)
        return NewKeyOut(**msgspec.structs.asdict(out), key=key)

    @get(operation_id="list_api_keys")
    async def list_keys(self, current_user: CurrentUser, runtime: RuntimeDep) -> list[KeyOut]:
        query = select(ApiKey).where(ApiKey.user_id == current_user.id).order_by(ApiKey.id)
        async with runtime.session_maker() as session:
            return [_out(row) for row in (await session.execute(query)).scalars()]

    @delete("/{key_id:uuid}", operation_id="revoke_api_key", status_code=HTTP_204_NO_CONTENT)
    async def revoke(
        self, key_id: FromPath[uuid.UUID], current_user: CurrentUser, runtime: RuntimeDep
    ) -> None:
        async with runtime.session_maker() as session:
            row = await session.get(ApiKey, key_id)
            if row is None or row.user_id != current_user.id:
                raise NotFoundException("no such API key")  # another user's: not found either
            if row.revoked_at is None:
                row.revoked_at = dt.datetime.now(dt.UTC)
                await session.commit()


def _factory(context: ProviderContext) -> RequestAuthenticator:
    if context.database is None:
        raise ConfigurationError("API keys need the core database")
    return ApiKeyAuthenticator(context.database)


@hookimpl
def register_request_authenticators(
    register: Callable[[str, Callable[[ProviderContext], RequestAuthenticator]], None],
) -> None:
    register("api_keys", _factory)


@hookimpl
def extend_app(app_config: AppConfig) -> None:
    app_config.route_handlers.append(ApiKeyController)


__all__ = ["ApiKeyAuthenticator", "ApiKeyController"]
