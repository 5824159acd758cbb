"""The running gallery's parts, built once from settings: plugins, providers, database.

``build_runtime`` is the one place that turns settings into live objects; the web app, the
worker and the CLI all start from it, so they select providers the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pluggy
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from salon.db.changes import ChangeTracker
from salon.db.engine import make_engine as make_engine  # the import path tests have used
from salon.media_stack import build_media_stack
from salon.memory import return_large_blocks
from salon.plugins import (
    Offer,
    ProviderRegistry,
    build_offer,
    collect_registry,
    make_plugin_manager,
    traced,
)
from salon.providers import (
    SHORT,
    AuthProvider,
    Closeable,
    ImageSource,
    JobHandler,
    JobQueue,
    MailSender,
    MediaProcessor,
    ProviderContext,
    RenditionSpec,
    RequestAuthenticator,
    StackedMediaProcessor,
    StorageBackend,
)
from salon.roles import AUTH, AUTHENTICATOR, MAIL, MEDIA, QUEUE, SOURCE, STORAGE, Role, Selection
from salon.settings import CoreSettings, Settings, load_core_settings, parse_plugin_settings

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

    from salon.composition import CoreServices
    from salon.context import SalonContext  # built by salon.context, which imports this module
    from salon.domain.ports import ImageEvents

log = logging.getLogger("salon.runtime")

Built = TypeVar("Built")  # what one role's factories build: Role[Built] (salon.roles)


@dataclass(slots=True)
class Runtime:
    settings: Settings
    pm: pluggy.PluginManager
    registry: ProviderRegistry
    engine: AsyncEngine
    session_maker: async_sessionmaker[AsyncSession]
    # None when SALON_READ_CACHE_MB is 0: then nothing caches, and nothing follows commits.
    changes: ChangeTracker | None
    storage: StorageBackend
    auth: AuthProvider
    media: MediaProcessor
    queue: JobQueue
    mail: MailSender | None = None
    # Every rendition an image gets: SALON_RENDITIONS, then what stacked media processors add.
    renditions: tuple[RenditionSpec, ...] = ()
    # What SALON_MEDIA selected, (name, processor) in order; ``media`` is their stack.
    media_processors: tuple[tuple[str, MediaProcessor | StackedMediaProcessor], ...] = ()
    sources: dict[str, ImageSource] = field(default_factory=dict)
    job_handlers: dict[str, JobHandler] = field(default_factory=dict)
    # Each job kind's lane ("short" or "long"): where create_job files its message.
    job_lanes: dict[str, str] = field(default_factory=dict)
    # The request-authentication chain, (name, authenticator) in the order they are asked.
    authenticators: list[tuple[str, RequestAuthenticator]] = field(default_factory=list)
    # The core services (salon.composition.compose, called by the app, worker and CLI).
    composed: CoreServices | None = None
    # Each plugin's SalonContext (salon.context.plugin_context), built on first use.
    contexts: dict[str, SalonContext] = field(default_factory=dict)
    # The image events with each listener's SalonContext: set by compose, which can build
    # those contexts (this module does not import salon.context: it imports this one).
    plugin_events: ImageEvents | None = None

    @property
    def core(self) -> CoreSettings:
        return self.settings.core

    def lane_of(self, kind: str) -> str:
        """The lane of job ``kind``: ``"long"`` when its handler was registered so, else
        ``"short"`` (an unknown kind too: its job fails at once)."""
        return self.job_lanes.get(kind, SHORT)

    @property
    def services(self) -> CoreServices:
        """The core services; a RuntimeError before :func:`salon.composition.compose`."""
        if self.composed is None:
            raise RuntimeError("core services not composed: call salon.composition.compose")
        return self.composed

    @property
    def events(self) -> ImageEvents:
        """The image events (salon.domain.ports.Events); a RuntimeError before compose."""
        if self.plugin_events is None:
            raise RuntimeError("image events not wired: call salon.composition.compose")
        return self.plugin_events

    async def close(self) -> None:
        """Release what providers hold (their optional ``aclose()``), then the database."""
        # Services first (the media pool's processes), then what they use.
        services = self.composed.parts() if self.composed is not None else []
        providers: list[object] = [
            *services,
            self.storage,
            self.auth,
            self.media,
            *self.sources.values(),
        ]
        for provider in providers:
            if isinstance(provider, Closeable):
                try:
                    await provider.aclose()
                except Exception:
                    log.exception("provider %r failed to close", type(provider).__name__)
        await self.queue.close()
        await self.engine.dispose()


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    """The app's runtime, for code that runs outside handlers (guards, middleware, the
    request class). Handlers get it and the core services as dependencies
    (salon.composition.dependencies), not from ``app.state``."""
    runtime: Runtime = connection.app.state.runtime
    return runtime


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    toml_path: Path | None = None,
    extra_plugins: Sequence[object] = (),
    ensure_secret: bool = True,
) -> tuple[Settings, pluggy.PluginManager, ProviderRegistry]:
    """Read settings, load plugins, and validate every plugin's settings: the start-up checks."""
    core, leftovers = load_core_settings(environ, toml_path, ensure_secret=ensure_secret)
    pm = make_plugin_manager(
        core.disable_plugins, extra_plugins=extra_plugins, trace=core.trace_plugins
    )
    registry = collect_registry(pm)
    plugin_settings = parse_plugin_settings(leftovers, registry.settings_types)
    return Settings(core=core, plugins=plugin_settings), pm, registry


def build_runtime(
    settings: Settings,
    pm: pluggy.PluginManager,
    registry: ProviderRegistry,
) -> Runtime:
    """Build the selected providers. Raises ConfigurationError naming what is wrong."""
    core = settings.core
    return_large_blocks()
    core.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(core.database_url)
    session_maker = async_sessionmaker(engine, expire_on_commit=False)
    changes = ChangeTracker().watch(engine) if core.read_cache_mb else None

    mail: MailSender | None = None

    def context_for(plugin: str) -> ProviderContext:
        prefix = _settings_prefix(registry, plugin)
        return ProviderContext(
            core=core,
            settings=settings.plugins.get(prefix) if prefix else None,
            data_dir=core.data_dir,
            database=session_maker,
            http_base_url=core.public_url,  # "" when unset: links then follow each request
            changes=changes,
            mail=mail,
        )

    def build(role: Role[Built], offer: Offer) -> Built:
        provider = build_offer(role, offer, context_for(offer.plugin))
        if core.trace_plugins and role.traced:
            provider = traced(provider, role.name, offer.name, offer.plugin)
        return provider

    def selected(role: Role[Built]) -> list[tuple[str, Built]]:
        """The providers the role's setting selects, built in the order it names them."""
        return [
            (name, build(role, registry.offer(role.name, name)))
            for name in role.selected(core) or ()
        ]

    mail = selected(MAIL)[0][1]  # first: the auth provider may send mail
    media_processors = tuple(selected(MEDIA))
    media, renditions = build_media_stack(media_processors, core.rendition_specs)
    runtime = Runtime(
        settings=settings,
        pm=pm,
        registry=registry,
        engine=engine,
        session_maker=session_maker,
        changes=changes,
        storage=selected(STORAGE)[0][1],
        auth=selected(AUTH)[0][1],
        media=media,
        queue=selected(QUEUE)[0][1],
        mail=mail,
        renditions=renditions,
        media_processors=media_processors,
    )
    runtime.sources = _build_every(SOURCE, registry, build)
    runtime.authenticators = list(_build_every(AUTHENTICATOR, registry, build).items())
    runtime.job_handlers = {name: offer.factory for name, offer in registry.job_handlers.items()}
    runtime.job_lanes = dict(registry.job_lanes)
    return runtime


class _Build(Protocol):
    """``build_runtime``'s ``build``: generic per call, which a Callable type cannot say."""

    def __call__(self, role: Role[Built], offer: Offer, /) -> Built: ...


def _build_every(role: Role[Built], registry: ProviderRegistry, build: _Build) -> dict[str, Built]:
    """Every offer of a role no setting selects from. An image source that cannot start is
    left out and logged, the others stay available (Selection.EVERY, by name); a request
    authenticator stops start-up (Selection.CHAIN, in the order requests ask them): leaving it
    out would silently lock out whoever signs in through it."""
    offers = registry.offers.get(role.name, {})
    if role.selection is Selection.CHAIN:
        return {name: build(role, offer) for name, offer in offers.items()}
    built: dict[str, Built] = {}
    for name in sorted(offers):
        try:
            built[name] = build(role, offers[name])
        except Exception:
            log.exception("%s %r could not be started; leaving it out", role.title, name)
    return built


def plugin_settings(runtime: Runtime, plugin: str) -> object:
    """The parsed settings object of ``plugin`` (its ``register_settings`` type), or None."""
    prefix = _settings_prefix(runtime.registry, plugin)
    return runtime.settings.plugins.get(prefix) if prefix else None


def _settings_prefix(registry: ProviderRegistry, plugin: str) -> str | None:
    for prefix, (_type, owner) in registry.settings_types.items():
        if owner == plugin:
            return prefix
    return None
