"""The stable Python API that plugins' CLI commands may call (besides hooks and Protocols).

Everything here opens the runtime from settings, does one thing, and closes it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy import select

from salon.db.models import User
from salon.errors import SalonError

__all__ = ["UnknownUser", "run_source_import", "user_by_email"]


class UnknownUser(SalonError):
    """No account with that email has signed in yet."""


async def user_by_email(runtime: Any, email: str) -> User:
    normalized = email.strip().lower()
    async with runtime.session_maker() as session:
        query = select(User).where(User.provider == runtime.core.auth, User.email == normalized)
        found: User | None = (await session.execute(query)).scalars().first()
    if found is None:
        raise UnknownUser(f"no user with email {email!r}; create one with `salon user create`")
    return found


async def run_source_import(
    source: str,
    query: Mapping[str, str],
    user_email: str,
    progress: Callable[[int, int], Awaitable[None] | None] | None = None,
) -> dict[str, Any]:
    """Import what ``query`` selects from image source ``source`` into ``user_email``'s gallery.
    Returns counts: total, imported, skipped, not_images, failed, and the album id."""
    from salon.launch import open_runtime

    runtime = open_runtime()
    try:
        owner = await user_by_email(runtime, user_email)
        summary: dict[str, Any] = await runtime.services.sources.run(
            owner.id, source, query, progress
        )
        summary.pop("image_ids", None)  # for the web page's stars; a command prints counts
        return summary
    finally:
        await runtime.close()
