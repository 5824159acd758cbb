"""A plugin's own tables at start-up (hook ``register_migrations``; the photo log example is
installed in the workspace): ``salon serve`` refuses a PostgreSQL database whose core schema
is current but whose plugin tables are behind, in one line naming the plugin, and migrates
them itself with SALON_AUTO_MIGRATE or on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from salon.db import migrate
from salon.db.plugin_tables import plugin_states
from salon.errors import ConfigurationError
from salon.plugins import collect_registry, make_plugin_manager
from salon.settings import CoreSettings, load_core_settings
from salon.startup import prepare_schema


def _core(tmp_path: Path, database_url: str, **extra: str) -> CoreSettings:
    env = {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_DATABASE_URL": database_url,
        "SALON_CONFIG": str(tmp_path / "absent.toml"),
        **extra,
    }
    core, _ = load_core_settings(env, ensure_secret=False)
    return core


def _photo_log_revision(database_url: str) -> str | None:
    offers = collect_registry(make_plugin_manager()).migrations
    [state] = [s for s in plugin_states(database_url, offers) if s.branch == "photo_log"]
    return state.revision


async def test_plugin_tables_behind_refuse_or_migrate(tmp_path: Path, database_url: str) -> None:
    said: list[str] = []
    migrate.upgrade(database_url)  # the core's tables only
    assert _photo_log_revision(database_url) is None
    if database_url.startswith("postgresql"):
        with pytest.raises(ConfigurationError) as refused:
            prepare_schema(_core(tmp_path, database_url), said.append)
        message = str(refused.value)
        assert "plugin photo_log" in message and "salon db upgrade" in message, message
        assert "\n" not in message
        assert _photo_log_revision(database_url) is None
        core = _core(tmp_path, database_url, SALON_AUTO_MIGRATE="true")
    else:
        core = _core(tmp_path, database_url)
    prepare_schema(core, said.append)
    assert _photo_log_revision(database_url) == "0001"
    assert "migrating plugin tables: photo_log" in said
    said.clear()
    prepare_schema(core, said.append)
    assert said == []  # nothing left to do
