"""What a signed-in user's password protects besides sessions: API keys, and checking the
current password again before something that outlives a session (a new key).

A password change, a reset and "sign out everywhere" end the account's sessions in the auth
provider; the account's API keys (table ``api_keys``) are revoked here, for any provider, so a
key minted by someone who had the password does not outlive the owner taking the account back.

Plugins may call :func:`confirm_password` (documented in docs/plugins.md) before an action that
should need the password again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon.db.models import ApiKey, User
from salon.domain.auth.throttle import DEVICE_COOKIE
from salon.errors import AuthError
from salon.runtime import Runtime, runtime_of

__all__ = ["confirm_password", "revoke_api_keys", "revoke_api_keys_of_email"]


async def _revoke(sessions: async_sessionmaker[AsyncSession], owner: ColumnElement[bool]) -> int:
    statement = (
        update(ApiKey)
        .where(ApiKey.revoked_at.is_(None), ApiKey.user_id.in_(select(User.id).where(owner)))
        .values(revoked_at=dt.datetime.now(dt.UTC))
    )
    async with sessions() as session, session.begin():
        result: Any = await session.execute(statement)
    return int(result.rowcount or 0)


async def revoke_api_keys(sessions: async_sessionmaker[AsyncSession], user_id: uuid.UUID) -> int:
    """Revoke every API key of the user; answers how many were live."""
    return await _revoke(sessions, User.id == user_id)


async def revoke_api_keys_of_email(runtime: Runtime, email: str) -> int:
    """Revoke the API keys of the auth provider's account signed in with ``email`` (a reset or
    an administrator's new password: the caller knows the address, not the user row)."""
    owner = (User.provider == runtime.core.auth) & (func.lower(User.email) == email.strip().lower())
    return await _revoke(runtime.session_maker, owner)


async def confirm_password(request: Request[Any, Any, Any], user: User, password: str) -> None:
    """Check that ``password`` is the signed-in ``user``'s current one, through the auth
    provider's sign-in; counted like a sign-in (a wrong one is a failed sign-in of the
    account, 429 past the limit). Raises ``AuthError("wrong_password")`` (400) when wrong and
    ``AuthError("unsupported")`` when the user does not sign in with a password here."""
    runtime = runtime_of(request)
    if user.provider != runtime.core.auth or not user.email:
        raise AuthError("unsupported", "this account does not sign in with a password here")
    throttle = runtime.services.throttle
    async with throttle.password_check(user.email, request.cookies.get(DEVICE_COOKIE)):
        try:
            pair = await runtime.auth.login(user.email, password)
        except AuthError as exc:
            if exc.code == "invalid_credentials":
                raise AuthError("wrong_password", "The current password is wrong") from None
            raise
    await runtime.auth.logout(pair.access_token)  # only a check: no session stays open
