"""Plugin-owned tables: each plugin's Alembic migrations (hook ``register_migrations``).

A plugin's migrations are a lineage of their own, recorded in ``alembic_version_<branch>``,
apart from the core's ``alembic_version``: the core's schema checks (head, expand/contract
compatibility) stay about the core, and a plugin installed, upgraded or removed never moves
the core's revision. They run after the core's migrations, so a plugin table may refer to a
core table (``users.id``), under the same locks (SQLite's lock file, PostgreSQL's advisory
lock).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from salon.db.engine import make_engine
from salon.db.migrate import _in_thread, migration_lock, sqlite_file
from salon.providers import PluginMigrations

ENVIRONMENT = Path(__file__).parent / "plugin_env"

Offers = Mapping[str, tuple[str, PluginMigrations]]
"""What ``ProviderRegistry.migrations`` holds: branch -> (plugin, migrations)."""


def version_table(branch: str) -> str:
    return f"alembic_version_{branch}"


def plugin_config(database_url: str, migrations: PluginMigrations) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.fspath(migrations.versions))
    config.set_main_option("salon_version_table", version_table(migrations.branch))
    return config


@dataclass(frozen=True, slots=True)
class BranchState:
    """Where one plugin's tables stand: its revision in the database and its newest."""

    branch: str
    plugin: str
    revision: str | None
    head: str | None

    @property
    def current(self) -> bool:
        return self.revision == self.head

    def describe(self) -> str:
        return (
            f"plugin {self.plugin} (branch {self.branch}) at revision "
            f"{self.revision or '(none)'}, its newest is {self.head}"
        )


def upgrade_plugins(
    database_url: str, offers: Offers, on_wait: Callable[[], None] = lambda: None
) -> list[BranchState]:
    """Run every plugin's migrations to its head (after the core's); safe to repeat."""
    with migration_lock(database_url, on_wait):
        for _branch, (_plugin, migrations) in sorted(offers.items()):
            _in_thread(command.upgrade, plugin_config(database_url, migrations), "heads")
    return plugin_states(database_url, offers)


def downgrade_plugins(database_url: str, offers: Offers) -> None:
    """Take every plugin's tables away (``salon db downgrade base``)."""
    with migration_lock(database_url):
        for _branch, (_plugin, migrations) in sorted(offers.items()):
            _in_thread(command.downgrade, plugin_config(database_url, migrations), "base")


def plugin_states(database_url: str, offers: Offers) -> list[BranchState]:
    """Each plugin branch's revision in the database against its newest migration."""
    if not offers:
        return []
    sqlite_file(database_url)
    engine = make_engine(database_url)

    async def read() -> dict[str, str | None]:
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(_revisions, list(offers))
        finally:
            await engine.dispose()

    found = _in_thread(asyncio.run, read())
    states = []
    for branch, (plugin, migrations) in sorted(offers.items()):
        script = ScriptDirectory.from_config(plugin_config(database_url, migrations))
        states.append(BranchState(branch, plugin, found[branch], script.get_current_head()))
    return states


def _revisions(connection: Connection, branches: list[str]) -> dict[str, str | None]:
    tables = set(inspect(connection).get_table_names())
    revisions: dict[str, str | None] = {}
    for branch in branches:
        table = version_table(branch)  # [a-z0-9_] only: checked when registered
        revisions[branch] = (
            connection.execute(text(f"SELECT version_num FROM {table}")).scalar()  # noqa: S608
            if table in tables
            else None
        )
    return revisions
