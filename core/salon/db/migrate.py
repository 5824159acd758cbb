"""Schema migrations with Alembic, driven from code so ``salon db upgrade`` needs no ini file.

Two processes may migrate at once (two ``salon serve`` on one data folder, a rolling deploy
with ``SALON_AUTO_MIGRATE``): a SQLite database is guarded by a lock file beside it,
PostgreSQL by an advisory lock taken in ``migrations/env.py``. The second waits, then finds
the work done.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from salon.db import search
from salon.db.engine import make_engine
from salon.db.schema import SchemaState, read_state

MIGRATIONS = Path(__file__).parent / "migrations"
# PostgreSQL advisory lock key env.py takes for the migration's transaction: any fixed number.
MIGRATION_LOCK = 0x5A10_0001
# Tables the migrations make outside the models (SQLite's change log, 0011): autogenerate must
# neither drop them nor call the schema out of date for them.
UNMODELLED_TABLES = frozenset({"salon_change_log"})


def include_object(_obj: Any, name: str | None, type_: str, *_args: Any) -> bool:
    """Alembic's ``include_object`` hook: everything but :data:`UNMODELLED_TABLES` and the
    search index's tables (:mod:`salon.db.search`)."""
    if type_ != "table" or name is None:
        return True
    return name not in UNMODELLED_TABLES and not search.is_index_table(name)


T = TypeVar("T")


def alembic_config(database_url: str, extra_versions: Sequence[Path] = ()) -> Config:
    """``extra_versions``: more folders of migrations (tests use one to play a newer release)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    folders = [MIGRATIONS / "versions", *extra_versions]
    config.set_main_option("version_locations", os.pathsep.join(str(f) for f in folders))
    return config


async def run_with_connection(database_url: str, run: Callable[[Connection], None]) -> None:
    """``run(connection)`` on the engine Salon itself uses, then commit: the body of the
    Alembic environments (the core's and the plugins')."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
    finally:
        await engine.dispose()


def scripts(extra_versions: Sequence[Path] = ()) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://", extra_versions))


def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    # env.py calls asyncio.run(); keep that off any running loop.
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(fn(*args))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite database (its folder made, as SQLite does not), else None."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None  # make_engine says what is wrong with it
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = Path(str(url.database))
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def migration_lock(database_url: str, on_wait: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold the SQLite database's migration lock (a no-op elsewhere: see env.py).

    ``on_wait`` is called once if another process holds it, before waiting."""
    path = sqlite_file(database_url)
    if path is None:
        yield
        return
    with open(f"{path}.migrate-lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            on_wait()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(
    database_url: str,
    revision: str = "head",
    *,
    extra_versions: Sequence[Path] = (),
    on_wait: Callable[[], None] = lambda: None,
) -> None:
    """Bring the database to ``revision``; safe to run any number of times, from any number of
    processes at once."""
    with migration_lock(database_url, on_wait):
        _in_thread(command.upgrade, alembic_config(database_url, extra_versions), revision)


def downgrade(database_url: str, revision: str, *, extra_versions: Sequence[Path] = ()) -> None:
    with migration_lock(database_url):
        _in_thread(command.downgrade, alembic_config(database_url, extra_versions), revision)


def state(database_url: str, *, extra_versions: Sequence[Path] = ()) -> SchemaState:
    """Where the database's schema stands against this release's migrations."""
    script = scripts(extra_versions)
    sqlite_file(database_url)
    engine = make_engine(database_url)  # a URL it cannot use: ConfigurationError, here

    async def read() -> SchemaState:
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(read_state, script)
        finally:
            await engine.dispose()

    found: SchemaState = _in_thread(asyncio.run, read())
    return found


def current(database_url: str) -> str | None:
    return state(database_url).revision
