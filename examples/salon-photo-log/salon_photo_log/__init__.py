"""salon-photo-log: a plugin that owns a whole feature, through the ``salon`` object only.

1. ``image_stored(image, salon)``: when ``SALON_PHOTO_LOG_ENABLED``, queue a job of the
   plugin's own kind, ``photo_log.record`` (a listener runs on the event loop: no slow work).
2. the job handler reads the image through ``job.salon.images`` and writes a row to the
   plugin's own table, ``photo_log_entries`` (made by its migrations, branch ``photo_log``,
   which ``salon db upgrade`` runs), once per image however often the job is delivered.
3. ``GET /api/photo-log`` (signed-in users only: ``require_user``) reads the caller's rows.
4. ``salon photo-log count`` prints how many images are logged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from litestar.config.app import AppConfig
from salon import SalonContext, hookimpl
from salon.providers import (
    JobContext,
    PluginMigrations,
    RegisterJobHandler,
    RegisterMigrations,
    RegisterSettings,
)

from salon_photo_log import tables
from salon_photo_log.routes import photo_log
from salon_photo_log.settings import PhotoLogSettings

__all__ = ["KIND", "PhotoLogSettings"]
__version__ = "0.1.0"

KIND = "photo_log.record"
MIGRATIONS = Path(__file__).parent / "migrations"


@hookimpl
def register_settings(register: RegisterSettings) -> None:
    register("PHOTO_LOG", PhotoLogSettings)


@hookimpl
def register_migrations(register: RegisterMigrations) -> None:
    register(PluginMigrations(branch="photo_log", versions=MIGRATIONS))


@hookimpl
def image_stored(image: dict[str, Any], salon: SalonContext) -> None:
    if salon.settings_as(PhotoLogSettings).enabled:
        salon.queue.enqueue_soon(KIND, {"image_id": image["id"]}, owner_id=image["owner_id"])


async def record(job: JobContext) -> dict[str, Any]:
    image = await job.salon.images.get(job.payload["image_id"], owner_id=job.owner_id)
    if image is None:  # deleted before the job ran: nothing to log
        return {"logged": False}
    logged = await tables.record(job.salon, image)
    job.salon.log.info("image %s logged: %s", image["id"], logged)
    return {"logged": logged}


@hookimpl
def register_job_handlers(register: RegisterJobHandler) -> None:
    register(KIND, record)


@hookimpl
def extend_app(app_config: AppConfig) -> None:
    app_config.route_handlers.append(photo_log)


@hookimpl
def register_commands(cli: click.Group, salon: SalonContext) -> None:
    @cli.group("photo-log")
    def photo_log_group() -> None:
        """The photo log (plugin photo_log)."""

    @photo_log_group.command("count")
    def count() -> None:
        """Print how many images are logged."""
        click.echo(f"{salon.run(lambda: tables.count(salon))} images logged")
