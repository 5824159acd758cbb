"""The ``salon`` command: serve, worker, db, plugins, user, import, uploads, and what plugins add.

Settings are read once per command (``SALON_*`` and salon.toml) and passed down.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from salon import __version__, logs
from salon.errors import AuthError, SalonError
from salon.launch import open_runtime, startup_errors
from salon.providers import PasswordSetting
from salon.roles import ROLES, Selection, kinds

if TYPE_CHECKING:
    import pluggy

    from salon.db.plugin_tables import Offers
    from salon.plugins import Offer
    from salon.providers import SignupResult
    from salon.runtime import Runtime
    from salon.settings import CoreSettings

T = TypeVar("T")
# `salon db upgrade`'s exit code for a schema newer than this release and not compatible with
# it: deploy/tools/release.sh reads it to refuse a rollback the code cannot do.
SCHEMA_TOO_NEW = 3


def _run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def plugin_migrations(core: CoreSettings) -> Offers:
    """The enabled plugins' own migrations (hook ``register_migrations``), by branch."""
    from salon.plugins import collect_registry, make_plugin_manager

    return collect_registry(make_plugin_manager(core.disable_plugins)).migrations


def _say(message: str) -> None:
    click.echo(f"salon: {message}", err=True)


def add_plugin_commands(
    group: click.Group, pm: pluggy.PluginManager, open_gallery: Callable[[], Runtime]
) -> None:
    """Call every ``register_commands``; each plugin's ``salon`` opens the gallery with
    ``open_gallery`` only when one of its commands uses it (listing commands opens nothing)."""
    from salon.context import LazyRuntime, SalonContext
    from salon.plugins import call_each

    runtime = LazyRuntime(open_gallery)
    call_each(
        pm,
        "register_commands",
        per_plugin=lambda plugin: {"salon": SalonContext(plugin, runtime)},
        cli=group,
    )


class SalonGroup(click.Group):
    """Adds the plugins' commands (``register_commands``) the first time the CLI runs."""

    _plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from salon.plugins import make_plugin_manager
        from salon.settings import load_core_settings

        with startup_errors():
            core, _ = load_core_settings(ensure_secret=False)
            add_plugin_commands(self, make_plugin_manager(core.disable_plugins), open_runtime)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            self._load_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command


@click.group(cls=SalonGroup)
@click.version_option(__version__, prog_name="salon")
def cli() -> None:
    """Salon: a plugin-based image gallery."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # Alembic announces each of its autogenerate plugins at INFO on every start: noise here.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
# $PORT as the default, like `make run PORT=...`, so documented commands run on any free port.
@click.option("--port", default=8000, show_default=True, type=int, envvar="PORT", show_envvar=True)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the gallery and its API with granian."""
    from granian import Granian
    from granian.constants import Interfaces

    from salon.startup import check_providers, prepare_schema

    with startup_errors():  # fail here, in one line, rather than inside a worker
        core = check_providers()
        prepare_schema(core, _say)
    click.echo(f"Salon {__version__} on http://{host}:{port}")
    Granian(
        "salon.asgi:create_app",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        factory=True,
        log_access=False,
        workers_kill_timeout=25,
    ).serve()


@cli.command("nginx-config")
@click.option(
    "--upstream", default="127.0.0.1:8000", show_default=True, help="salon serve's address"
)
@click.option("--listen", default="80", show_default=True, help="nginx's listen address")
def nginx_config(upstream: str, listen: str) -> None:
    """Print an nginx config serving renditions itself and proxying the rest (deploy/nginx)."""
    from salon.nginx_config import nginx_config as render
    from salon.settings import load_core_settings

    with startup_errors():
        core, _ = load_core_settings()
        click.echo(render(core, upstream=upstream, listen=listen), nl=False)


@cli.command()
@click.option("--once", is_flag=True, help="Handle at most one job, then exit.")
def worker(once: bool) -> None:
    """Run background jobs from the selected queue until SIGTERM.

    The schema is settled first, as for ``serve``: SQLite is migrated, PostgreSQL behind its
    migrations is refused in one line (unless SALON_AUTO_MIGRATE)."""
    from salon import metrics
    from salon.settings import load_core_settings
    from salon.startup import prepare_schema
    from salon.task_protection import task_protection_from_environ
    from salon.worker import run_worker

    with startup_errors():
        core, _ = load_core_settings()
        prepare_schema(core, _say)
    runtime = open_runtime()
    for handler in logging.getLogger().handlers:
        logs.install(handler, runtime.core.log_format)
    # ECS sets ECS_AGENT_URI in the task; it is the orchestrator's, not a Salon setting.
    protection = task_protection_from_environ(os.environ)
    metrics.serve_worker_metrics(runtime.core)

    async def main() -> None:
        try:
            await run_worker(runtime, once=once, protection=protection)
        finally:
            await runtime.close()

    _run(main())


@cli.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the newest schema (safe to repeat).

    A schema newer than this release is left alone: exit 0 when it declares this release
    compatible (a rollback across an expand-only migration), else exit 3."""
    from salon.db.migrate import current, upgrade
    from salon.settings import load_core_settings
    from salon.startup import schema_state

    with startup_errors():
        core, _ = load_core_settings(ensure_secret=False)
        before = schema_state(core.database_url)
    if before.status == "newer":
        click.echo(f"database {before.describe()}: nothing to do")
        return
    if before.status == "incompatible":
        click.echo(f"salon: database {before.describe()}: this release cannot run on it", err=True)
        sys.exit(SCHEMA_TOO_NEW)
    upgrade(core.database_url, revision)
    click.echo(f"database at revision {current(core.database_url)}")
    if revision == "head":
        _upgrade_plugin_tables(core)


def _upgrade_plugin_tables(core: CoreSettings) -> None:
    """Then the plugins' own tables (hook ``register_migrations``), each its own lineage."""
    from salon.db.plugin_tables import upgrade_plugins

    with startup_errors():
        offers = plugin_migrations(core)
    for state in upgrade_plugins(core.database_url, offers):
        click.echo(f"plugin {state.plugin} tables ({state.branch}) at revision {state.revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION ("base" for empty)."""
    from salon.db.migrate import downgrade
    from salon.settings import load_core_settings

    with startup_errors():
        core, _ = load_core_settings(ensure_secret=False)
    if revision == "base":  # the plugins' tables may refer to the core's: they go first
        from salon.db.plugin_tables import downgrade_plugins

        with startup_errors():
            downgrade_plugins(core.database_url, plugin_migrations(core))
    downgrade(core.database_url, revision)
    click.echo(f"database downgraded to {revision}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins(as_json: bool) -> None:
    """List plugins, their versions and hooks, and the providers on offer and selected.

    A selection no plugin offers (misspelled, or its plugin disabled or not installed) is
    listed as unknown, with the nearest name, and the command exits 2."""
    from salon.plugins import plugin_versions
    from salon.runtime import load_settings

    with startup_errors():
        settings, pm, registry = load_settings(ensure_secret=False)
    core = settings.core
    # By role (salon.roles): the setting's value, and the names it selects (media stack).
    selected = {role.name: getattr(core, role.setting) for role in ROLES if role.setting}
    chosen = {role.name: names for role in ROLES if (names := role.selected(core)) is not None}
    providers = {
        role.name: [
            {"name": o.name, "plugin": o.plugin, "selected": o.name in chosen.get(role.name, ())}
            for o in _in_selection_order(
                registry.offers.get(role.name, {}).values(), chosen.get(role.name, ())
            )
        ]
        for role in ROLES
        if role.selection is not Selection.CHAIN  # authenticators: the "request" rows
    }
    unknown = {
        role: registry.unknown(role, name)
        for role, names in chosen.items()
        for name in names
        if name not in registry.offers.get(role, {})
    }
    if unknown and settings.core.disable_plugins:
        disabled = "; SALON_DISABLE_PLUGINS leaves out: " + ", ".join(settings.core.disable_plugins)
        unknown = {role: message + disabled for role, message in unknown.items()}
    data: dict[str, Any] = {
        "plugins": plugin_versions(pm),
        "providers": providers,
        "job_handlers": {k: v.plugin for k, v in sorted(registry.job_handlers.items())},
        # In the order requests ask them, before the auth provider's own bearer tokens.
        "authenticators": {k: v.plugin for k, v in registry.authenticators.items()},
        # Plugin-owned tables (register_migrations): branch -> plugin.
        "tables": {branch: plugin for branch, (plugin, _m) in sorted(registry.migrations.items())},
        # Web pages (register_pages): path -> plugin and navigation entry.
        "pages": {
            page.spec.path: {
                "plugin": page.plugin,
                "nav_label": page.spec.nav_label,
                "nav_order": page.spec.nav_order,
            }
            for page in registry.pages
        },
        "selected": selected,
        "unknown": unknown,
    }
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        _print_plugins(data)
    for message in unknown.values():
        click.echo(f"salon: {message}", err=True)
    if unknown:
        sys.exit(2)


def _in_selection_order(offers: Iterable[Offer], chosen: Sequence[str]) -> list[Offer]:
    """The selected offers first, in the setting's order (a media stack runs in it), then the
    others by name."""
    rank = {name: n for n, name in enumerate(chosen)}
    return sorted(offers, key=lambda o: (rank.get(o.name, len(rank)), o.name))


def _print_plugins(data: dict[str, Any]) -> None:
    for plugin in data["plugins"]:
        click.echo(f"{plugin['name']} {plugin['version']}: {', '.join(plugin['hooks'])}")
    click.echo("")
    for role, offers in data["providers"].items():
        for offer in offers:
            mark = "*" if offer["selected"] else " "
            click.echo(f" {mark} {role:8} {offer['name']:12} ({offer['plugin']})")
        if role in data["unknown"]:
            click.echo(f" ? {role:8} {data['selected'][role]:12} (unknown: no plugin offers it)")
    for kind, plugin in data["job_handlers"].items():
        click.echo(f"   job      {kind:12} ({plugin})")
    for name, plugin in data["authenticators"].items():
        click.echo(f" * request  {name:12} ({plugin})")
    for branch, plugin in data["tables"].items():
        click.echo(f"   tables   {branch:12} ({plugin})")
    for path, page in data["pages"].items():
        nav = f", nav {page['nav_label']!r} at {page['nav_order']}" if page["nav_label"] else ""
        click.echo(f"   page     {path:12} ({page['plugin']}{nav})")


@cli.group()
def user() -> None:
    """Accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.password_option()
def user_create(email: str, password: str) -> None:
    """Create an account through the selected auth provider."""
    from salon.domain.auth.addresses import new_address
    from salon.domain.auth.lookalikes import LOOKALIKE, lookalike_exists
    from salon.domain.auth.services import user_for_identity

    runtime = open_runtime()

    async def main() -> str:
        try:
            # Before the provider makes an account (Cognito's would stay behind otherwise).
            if await lookalike_exists(runtime.session_maker, new_address(email)):
                raise AuthError("lookalike_email", LOOKALIKE)
            # Only some providers take ``confirmed`` (an optional extension of the Protocol).
            signup: Callable[..., Awaitable[SignupResult]] = runtime.auth.signup
            if "confirmed" in inspect.signature(signup).parameters:
                # The administrator vouches for the address: no code to wait for.
                result = await signup(email, password, confirmed=True)
            else:
                result = await signup(email, password)
            async with runtime.session_maker() as session:
                row = await user_for_identity(session, runtime.core.auth, result.identity)
            return str(row.id)
        finally:
            await runtime.close()

    try:
        user_id = _run(main())
    except SalonError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created user {email} ({user_id})")


@user.command("set-password")
@click.option("--email", required=True)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from the first line of stdin instead of a prompt.",
)
def user_set_password(email: str, password_stdin: bool) -> None:
    """Replace an account's password, sign it out everywhere, revoke its API keys (administrator
    action).

    The password is never an argument (it would show in the process list and shell history):
    it is asked for twice at a hidden prompt, or read from stdin with --password-stdin.
    """
    from salon.domain.auth.credentials import revoke_api_keys_of_email

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    runtime = open_runtime()
    auth = runtime.auth
    if not isinstance(auth, PasswordSetting):
        _run(runtime.close())
        raise click.ClickException(f"auth provider {runtime.core.auth!r} cannot set passwords")

    async def main() -> None:
        try:
            await auth.set_password(email, password)
            await revoke_api_keys_of_email(runtime, email)
        finally:
            await runtime.close()

    try:
        _run(main())
    except SalonError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"password of {email} set; every session of the account was signed out"
        " and its API keys were revoked"
    )


@cli.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--user", "email", required=True, help="Email of the owner.")
@click.option("--album", default=None, help="Also file the images in this album.")
def import_dir(directory: Path, email: str, album: str | None) -> None:
    """Import every image under DIRECTORY; files already in the gallery are skipped."""
    from salon.bulk_import import import_directory

    runtime = open_runtime()
    files = sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith("."))
    with click.progressbar(length=len(files), label="importing", show_pos=True) as bar:

        async def main() -> dict[str, int]:
            try:
                return await import_directory(runtime, files, email, album, on_file=bar.update)
            finally:
                await runtime.close()

        try:
            counts = _run(main())
        except SalonError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@cli.group()
def uploads() -> None:
    """Direct-upload housekeeping."""


@uploads.command("cleanup")
def uploads_cleanup() -> None:
    """Delete abandoned direct uploads (intents past their expiry) and their objects."""
    runtime = open_runtime()

    async def main() -> int:
        try:
            count: int = await runtime.services.uploads.cleanup_expired()
            return count
        finally:
            await runtime.close()

    click.echo(f"removed {_run(main())} abandoned uploads")


@cli.command()
@click.option("--repair", is_flag=True, help="Delete orphans and rebuild missing renditions.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def doctor(repair: bool, as_json: bool) -> None:
    """Find orphan objects, missing renditions and missing originals (and repair them)."""
    from salon.doctor import count_images, diagnose

    runtime = open_runtime()

    async def check() -> Any:
        try:
            total = await count_images(runtime)
            with click.progressbar(length=total, label="checking images", file=sys.stderr) as bar:
                return await diagnose(runtime, repair=repair, tick=lambda: bar.update(1))
        finally:
            await runtime.close()

    report = _run(check())
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for name, items in report.as_dict().items():
            if isinstance(items, list):
                click.echo(f"{name}: {len(items)}")
                for item in items[:50]:
                    click.echo(f"  {item}")
        if repair:
            click.echo(f"repaired: {report.repaired}")
    if not report.healthy and not repair:
        sys.exit(1)


@cli.command("new-plugin")
@click.argument("name")
@click.option(
    "--kind",
    required=True,
    type=click.Choice(list(kinds())),
    help="The kind of provider the plugin offers (stacked: adds to the media processor's result).",
)
@click.option(
    "--dest",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create the plugin's project in.",
)
@click.option(
    "--provider",
    default=None,
    help="The provider's name, as its selecting setting shows it [default: NAME, with _ for -].",
)
def new_plugin(name: str, kind: str, dest: Path, provider: str | None) -> None:
    """Write the skeleton of a plugin NAME (e.g. photo-vault) offering one provider."""
    from salon.scaffold import ScaffoldError
    from salon.scaffold import new_plugin as scaffold

    try:
        root = scaffold(name, kind, dest, provider)
    except ScaffoldError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"created {root}")
    click.echo(f"next: cd {root} && pip install -e '.[test]' && pytest")


def main() -> None:
    cli()


def run_async(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """For plugin commands: run a coroutine function the way the core's commands do."""
    return _run(fn(*args))


if __name__ == "__main__":
    main()
