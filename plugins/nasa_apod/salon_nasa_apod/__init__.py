"""Salon plugin: NASA's Astronomy Picture of the Day (APOD) as an image source.

Offers the image source ``apod`` (:class:`ApodSource`), its settings under ``SALON_APOD_*``
(:class:`ApodSettings`), the CLI command ``salon apod import`` and the ``/apod`` page of the
web UI (browse, import and star entries), with its nav entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from salon import hookimpl
from salon.providers import PageSpec, PluginFiles

from salon_nasa_apod.client import ApodRateLimited, scrub
from salon_nasa_apod.query import FIRST_DATE, ApodQuery, parse_query
from salon_nasa_apod.settings import ApodSettings
from salon_nasa_apod.source import ApodSource, apod_today, to_entry

if TYPE_CHECKING:
    import click
    from salon.providers import RegisterImageSource, RegisterPages, RegisterSettings

__all__ = [
    "FIRST_DATE",
    "ApodQuery",
    "ApodRateLimited",
    "ApodSettings",
    "ApodSource",
    "apod_today",
    "parse_query",
    "scrub",
    "to_entry",
]


@hookimpl
def register_settings(register: RegisterSettings) -> None:
    register("APOD", ApodSettings)


@hookimpl
def register_image_sources(register: RegisterImageSource) -> None:
    register("apod", ApodSource.from_context)


HERE = Path(__file__).parent


@hookimpl
def register_pages(register: RegisterPages) -> None:
    register(PluginFiles(templates=HERE / "templates", static=HERE / "static"))
    register(
        PageSpec(
            "/apod",
            "apod.html",
            "NASA APOD",
            nav_label="APOD",
            nav_order=50,
            scripts=["apod.js"],
            styles=["apod.css"],
        )
    )


@hookimpl
def register_commands(cli: click.Group) -> None:
    from salon_nasa_apod.cli import apod

    cli.add_command(apod)
