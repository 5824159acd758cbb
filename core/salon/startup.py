"""What ``salon serve`` settles before it listens, so a problem is one line and an exit code,
not a traceback from a worker process after "Listening at".

- settings, plugins and every selected provider are built once (then closed);
- the schema: a SQLite database (the embedded default) is migrated here, a server database
  (PostgreSQL) only with ``SALON_AUTO_MIGRATE``; otherwise a schema behind this release's
  migrations, or newer and not declared compatible with it, stops start-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sqlalchemy.engine import make_url

from salon.db import migrate
from salon.db.schema import SchemaState
from salon.errors import ConfigurationError
from salon.settings import CoreSettings


def check_providers() -> CoreSettings:
    """Load settings and build every selected provider once; raise what is wrong."""
    from salon.runtime import build_runtime, load_settings

    settings, pm, registry = load_settings()
    runtime = build_runtime(settings, pm, registry)
    asyncio.run(runtime.close())
    return settings.core


def schema_state(database_url: str) -> SchemaState:
    try:
        return migrate.state(database_url)
    except ConfigurationError:
        raise
    except Exception as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        raise ConfigurationError(
            f"cannot read the database schema: {type(exc).__name__}: {first_line}"
        ) from exc


def prepare_schema(core: CoreSettings, say: Callable[[str], None]) -> SchemaState:
    """Bring the schema to this release's head where that is ours to do; else explain. Then
    the same for the plugins' own tables (hook ``register_migrations``)."""
    state = _prepare_core(core, say)
    _prepare_plugin_tables(core, say)
    return state


def _may_migrate(core: CoreSettings) -> bool:
    return make_url(core.database_url).get_backend_name() == "sqlite" or core.auto_migrate


def _prepare_plugin_tables(core: CoreSettings, say: Callable[[str], None]) -> None:
    from salon.db.plugin_tables import plugin_states, upgrade_plugins
    from salon.plugins import collect_registry, make_plugin_manager

    offers = collect_registry(make_plugin_manager(core.disable_plugins)).migrations
    behind = [s for s in plugin_states(core.database_url, offers) if not s.current]
    if not behind:
        return
    if not _may_migrate(core):
        raise ConfigurationError(
            f"the tables of {behind[0].describe()}: run `salon db upgrade` first "
            "(or set SALON_AUTO_MIGRATE=true to let serve do it)"
        )
    say("migrating plugin tables: " + ", ".join(s.branch for s in behind))
    upgrade_plugins(core.database_url, offers)


def _prepare_core(core: CoreSettings, say: Callable[[str], None]) -> SchemaState:
    state = schema_state(core.database_url)
    if state.status == "incompatible":
        raise ConfigurationError(
            f"the database schema is {state.describe()}: run a release that knows it"
        )
    if state.status != "behind":
        return state
    if not _may_migrate(core):
        raise ConfigurationError(
            f"the database schema is {state.describe()}: run `salon db upgrade` first "
            "(or set SALON_AUTO_MIGRATE=true to let serve do it)"
        )
    say(f"migrating the database schema ({state.describe()})")
    migrate.upgrade(
        core.database_url, on_wait=lambda: say("waiting for another process's migration")
    )
    return schema_state(core.database_url)
