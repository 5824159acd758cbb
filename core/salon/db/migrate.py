"""Schema migrations with Alembic, driven from code so ``salon db upgrade`` needs no ini file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def _in_thread(fn: object, *args: object) -> None:
    # env.py calls asyncio.run(); keep that off any running loop.
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn(*args)  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database to ``revision``; safe to run any number of times."""
    _in_thread(command.upgrade, alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    _in_thread(command.downgrade, alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    from sqlalchemy import text

    from salon.runtime import make_engine

    async def read() -> str | None:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
                row = rows.first()
                return None if row is None else str(row[0])
        except Exception:
            return None
        finally:
            await engine.dispose()

    return asyncio.run(read())
