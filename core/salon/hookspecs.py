"""Every hook a Salon plugin may implement. Each docstring is that hook's contract.

Conventions (see docs/plugins.md for examples):

- Registration hooks receive a ``register`` callback and call it once per thing they offer; they
  return nothing. All implementations are called.
- Event hooks are called once per listener; a listener that raises is logged with its plugin's
  name and does not stop the others or the request.
- Hooks the core calls after start-up (events, ``register_commands``, ``extend_app``) offer
  ``salon``, the implementing plugin's :class:`salon.context.SalonContext`; job handlers get
  it as ``job.salon``.
- ``since`` in each docstring is the Salon version that introduced the hook. New optional
  arguments may be added to a hook in a later version; pluggy passes an implementation only the
  arguments it names, so existing implementations keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from litestar.config.app import AppConfig

    from salon.context import SalonContext
    from salon.providers import (
        RegisterAuthProvider,
        RegisterImageSource,
        RegisterJobHandler,
        RegisterJobQueue,
        RegisterMailSender,
        RegisterMediaProcessor,
        RegisterMigrations,
        RegisterPages,
        RegisterRequestAuthenticator,
        RegisterSettings,
        RegisterStorageBackend,
    )

hookspec = pluggy.HookspecMarker("salon")
hookimpl = pluggy.HookimplMarker("salon")


@hookspec
def register_settings(register: RegisterSettings) -> None:
    """Declare the plugin's own settings.

    Call ``register(prefix, settings_type)`` where ``settings_type`` is a ``msgspec.Struct``
    (frozen, ``forbid_unknown_fields=True``) whose fields all have defaults. Field ``bucket``
    under prefix ``"S3"`` is read from ``SALON_S3_BUCKET`` (or ``[s3] bucket`` in salon.toml).
    Values are converted to the field types and validated once at start-up; a bad value or an
    unknown ``SALON_<PREFIX>_*`` key stops start-up with a message naming the setting. The
    provider factory receives the parsed object as ``ProviderContext.settings``.

    Returns nothing; all implementations are called. Since 0.1.
    """


@hookspec
def register_storage_backends(register: RegisterStorageBackend) -> None:
    """Offer storage backends.

    Call ``register(name, factory)``; ``factory(context: ProviderContext) -> StorageBackend`` is
    called once at start-up, only for the backend that ``SALON_STORAGE`` selects. A name offered
    twice is a start-up error naming both plugins. Returns nothing. Since 0.1.
    """


@hookspec
def register_auth_providers(register: RegisterAuthProvider) -> None:
    """Offer auth providers: ``register(name, factory)`` with
    ``factory(context) -> AuthProvider``, selected by ``SALON_AUTH``. Returns nothing. Since 0.1.
    """


@hookspec
def register_media_processors(register: RegisterMediaProcessor) -> None:
    """Offer media processors: ``register(name, factory)`` with
    ``factory(context) -> MediaProcessor`` (decodes uploads, makes the ``SALON_RENDITIONS``) or
    ``-> StackedMediaProcessor`` (adds renditions or metadata to another's result, since 0.2).
    ``SALON_MEDIA`` selects them in order, the first a ``MediaProcessor`` (default ``pillow``;
    ``pillow,avif_phash`` stacks one on it). Returns nothing. Since 0.1.
    """


@hookspec
def register_image_sources(register: RegisterImageSource) -> None:
    """Offer image sources: ``register(name, factory)`` with ``factory(context) -> ImageSource``.

    Every registered source is built at start-up and listed by ``GET /api/sources``; a factory
    that raises is logged with the plugin's name and that source is left out, the others stay.
    Returns nothing. Since 0.1.
    """


@hookspec
def register_job_queues(register: RegisterJobQueue) -> None:
    """Offer job queues: ``register(name, factory)`` with ``factory(context) -> JobQueue``,
    selected by ``SALON_QUEUE``. Returns nothing. Since 0.1.
    """


@hookspec
def register_mail_senders(register: RegisterMailSender) -> None:
    """Offer mail senders: ``register(name, factory)`` with ``factory(context) -> MailSender``,
    selected by ``SALON_MAIL`` (default ``console``, which logs each message instead of sending
    it). Built before the auth provider, which finds it as ``ProviderContext.mail``. Returns
    nothing. Since 0.1.
    """


@hookspec
def register_job_handlers(register: RegisterJobHandler) -> None:
    """Offer handlers for kinds of background job.

    Call ``register(kind, handler)`` where ``handler(job: JobContext)`` is an ``async`` function
    returning a JSON-able mapping (stored as the job's result) or ``None``. A handler must be
    idempotent: queues deliver at least once. Raising marks the attempt failed; after the
    queue's retries the job is failed with the exception's message. Returns nothing. Since 0.1.
    """


@hookspec
def register_request_authenticators(register: RegisterRequestAuthenticator) -> None:
    """Offer links of the request-authentication chain (like Datasette's
    ``actor_from_request``): HTTP Basic, a custom header, API keys.

    Call ``register(name, factory)`` where ``factory(context: ProviderContext)`` returns a
    :class:`salon.providers.RequestAuthenticator`. Every registered authenticator is active
    (disable one with ``SALON_DISABLE_PLUGINS``); for each request that needs a user they are
    asked in hook order (``tryfirst``/``trylast`` apply) before the configured auth provider's
    Bearer token or session cookie; the first identity answered wins. A factory that raises
    stops start-up naming the plugin. Returns nothing. Since 0.2.
    """


@hookspec
def register_pages(register: RegisterPages) -> None:
    """Offer pages of the web UI, with their templates, static files and navigation entries.

    Call ``register(PluginFiles(templates=folder, static=folder))`` once to declare the
    plugin's folders, and ``register(PageSpec(path, template, title, nav_label=..., ...))``
    once per page (both in ``salon.providers``). Templates may extend the core's
    ``base.html``; static files are served under ``/static/plugins/<plugin name>/``. The main
    navigation is built from the core's pages and the registered ``nav_label`` entries, so a
    plugin left out by ``SALON_DISABLE_PLUGINS`` takes its pages and entries with it. A page
    path taken by the core or another plugin, a missing template or script, or a page without
    a templates folder stops start-up naming the plugin. Returns nothing. Since 0.2.
    """


@hookspec
def register_migrations(register: RegisterMigrations) -> None:
    """Offer the plugin's own tables, as Alembic migrations.

    Call ``register(PluginMigrations(branch, versions))`` once (``salon.providers``):
    ``versions`` is a folder of Alembic revision files, ``branch`` their name. ``salon db
    upgrade`` runs them after the core's migrations, on SQLite and PostgreSQL, recording
    their revision in ``alembic_version_<branch>``; ``salon serve`` and ``salon worker`` migrate
    them as they do the core's (SQLite, ``SALON_AUTO_MIGRATE``) and otherwise refuse to start
    while they are behind. A branch taken by another plugin, a bad name or a missing folder
    stops start-up naming the plugin. Returns nothing. Since 0.2.
    """


@hookspec
def extend_app(app_config: AppConfig, salon: SalonContext) -> None:
    """Change the Litestar ``AppConfig`` before the app is built.

    Append to ``app_config.route_handlers``, ``middleware``, ``on_startup`` and so on; do not
    replace the lists. Called once per app, after the core's own wiring. The route handlers a
    plugin appends may take ``salon: SalonContext`` (this plugin's context, the ``salon``
    argument here) and ``current_user: SignedInUser``; ``salon.context.require_user`` is a guard
    for signed-in-only routes. Returns nothing. Since 0.1; ``salon`` since 0.2.
    """


@hookspec
def register_commands(cli: click.Group, salon: SalonContext) -> None:
    """Add commands to the ``salon`` CLI with ``@cli.command()`` or ``cli.add_command(...)``.

    Called once when the CLI starts. ``salon`` is the plugin's context; it opens the gallery
    only when a command uses it (``salon.run(async_function)``). Returns nothing. Since 0.1;
    ``salon`` since 0.2.
    """


@hookspec
def image_stored(image: dict[str, Any], salon: SalonContext) -> None:
    """Event: an image was stored and recorded with its renditions. ``image`` is the API's
    JSON form plus ``owner_id``; ``salon`` the listening plugin's context (to enqueue a job of
    its own, say). Called after the database commit that made it ``ready`` (possibly after the
    upload was answered, in the process that made the renditions); return value ignored; a
    listener that raises is logged and skipped. Since 0.1; ``salon`` since 0.2.
    """


@hookspec
def image_updated(image: dict[str, Any], renditions: list[str], salon: SalonContext) -> None:
    """Event: renditions were made for an image that was already ``ready`` (and metadata keys
    the media stack sets that it lacked were added): by ``salon.images.refresh_renditions``,
    the core job ``image.renditions`` or ``salon doctor --repair``. ``image`` is as in
    ``image_stored``, with the new renditions and metadata; ``renditions`` names the ones
    just stored. ``image_stored`` does not fire again for such an image, so a plugin that
    indexes images in ``image_stored`` listens here too to learn what a backfill added.
    Called after the commit, in the process that made them; return value ignored; a listener
    that raises is logged and skipped. Since 0.2.
    """


@hookspec
def image_deleted(image: dict[str, Any], salon: SalonContext) -> None:
    """Event: an image and its bytes were deleted. ``image`` and ``salon`` as in
    ``image_stored``. Return value ignored; a listener that raises is logged and skipped.
    Since 0.1; ``salon`` since 0.2.
    """
