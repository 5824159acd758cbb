"""Mapping provider identities to Salon users, and the account flows' thin wrappers."""

from __future__ import annotations

import logging

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon.caching import VersionedCache
from salon.db.models import User
from salon.db.reads import read_session
from salon.domain.auth.lookalikes import LOOKALIKE, email_skeleton, looks_taken
from salon.errors import AuthError
from salon.providers import Identity, TableVersions

log = logging.getLogger("salon.auth")

# Said by the sign-up route and page when SALON_SIGNUP_ENABLED is false.
SIGNUP_CLOSED = "Sign-up is closed on this gallery: ask its administrator for an account."

# Built once: no statement or cache key built per request (issue 19.2).
_USER_OF = select(User).where(
    User.provider == bindparam("provider"), User.subject == bindparam("subject")
)


async def user_for_identity(session: AsyncSession, provider: str, identity: Identity) -> User:
    """The user row for ``identity``, created on first sight (as Cognito's post-confirmation
    trigger would), so ownership works the same whichever provider signs people in."""
    params = {"provider": provider, "subject": identity.subject}
    user = (await session.execute(_USER_OF, params)).scalar_one_or_none()
    if user is not None:
        if await _take_address(session, user, identity.email):
            await session.commit()
        return user
    email = identity.email
    if email and await looks_taken(session, email):
        # A provider's own sign-up (Cognito's hosted UI, an administrator's console) bypassed
        # Salon's: the address would show as another account's.
        log.warning("first sign-in refused: its address looks like another account's")
        raise AuthError("lookalike_email", LOOKALIKE)
    user = User(
        provider=provider,
        subject=identity.subject,
        email=email,
        email_skeleton=email_skeleton(email) if email else None,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        # Two first requests raced; the other one created the row.
        await session.rollback()
        user = (await session.execute(_USER_OF, params)).scalar_one()
    return user


async def _take_address(session: AsyncSession, user: User, email: str | None) -> bool:
    """Follow a change of the provider's address for ``user`` (and give a row made before
    skeletons its own); whether the row changed. An address that looks like another
    account's is not taken: the row keeps its old one."""
    if email and user.email != email:
        if await looks_taken(session, email, user=user.id):
            log.warning("address change not followed: it looks like another account's")
            return False
        user.email = email
    elif not user.email or user.email_skeleton is not None:
        return False
    user.email_skeleton = email_skeleton(user.email)
    return True


class UserDirectory:
    """``user_for_identity`` with a cache of the rows it found, while the users table is
    unchanged. The cached ``User`` is detached and shared between requests: read it, never
    add it to a session (use its ``id``)."""

    def __init__(
        self,
        provider: str,
        sessions: async_sessionmaker[AsyncSession],
        changes: TableVersions | None,
    ) -> None:
        self._provider = provider
        self._sessions = sessions
        self._cache: VersionedCache[tuple[str, str | None], User] = VersionedCache(
            changes, ("users",), max_entries=20_000
        )

    def cached(self, identity: Identity) -> User | None:
        """The user of ``identity`` if it is cached and the users table unchanged since."""
        return self._cache.get((identity.subject, identity.email), self._cache.version())

    async def user(self, identity: Identity) -> User:
        key = (identity.subject, identity.email)
        version = self._cache.version()
        user = self._cache.get(key, version)
        if user is None:
            # A session of its own, closed at once, not the request's: that one would hold its
            # connection for the whole request, and a handler that opens sessions of its own
            # (an upload's ingest) would wait for a second; under load every connection waits
            # on another. A cached user needs no session at all. Only a route whose reads
            # share one session (``salon.db.reads``, the listing) reads it there.
            async with read_session(self._sessions) as session:
                user = await user_for_identity(session, self._provider, identity)
            self._cache.put(key, user, version)
        return user
