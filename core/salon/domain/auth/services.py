"""Mapping provider identities to Salon users, and the account flows' thin wrappers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import User
from salon.providers import Identity


async def user_for_identity(session: AsyncSession, provider: str, identity: Identity) -> User:
    """The user row for ``identity``, created on first sight (as Cognito's post-confirmation
    trigger would), so ownership works the same whichever provider signs people in."""
    query = select(User).where(User.provider == provider, User.subject == identity.subject)
    user = (await session.execute(query)).scalar_one_or_none()
    if user is not None:
        if identity.email and user.email != identity.email:
            user.email = identity.email
            await session.commit()
        return user
    user = User(provider=provider, subject=identity.subject, email=identity.email)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        # Two first requests raced; the other one created the row.
        await session.rollback()
        user = (await session.execute(query)).scalar_one()
    return user
