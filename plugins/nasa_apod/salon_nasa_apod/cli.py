"""``salon apod import``: import APOD entries into a user's "APOD" album, with a progress bar.

The import itself (download, dedupe, store, album) is the core's: this command validates the
options with the same rules as the source, then calls ``salon.api.run_source_import``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any

import click
from salon.errors import SalonError, SourceQueryError

from salon_nasa_apod.query import parse_query
from salon_nasa_apod.source import apod_today

ImportFacade = Callable[..., Coroutine[Any, Any, dict[str, Any]]]


def find_import_facade() -> ImportFacade | None:
    """The core's ``salon.api.run_source_import``, or ``None`` on a core that lacks it."""
    try:
        api = importlib.import_module("salon.api")
    except ImportError:
        return None
    facade: ImportFacade | None = getattr(api, "run_source_import", None)
    return facade


class ProgressBar:
    """A ``progress(done, total)`` callback drawing a click progress bar, made on first call
    (the total is known only once the entries are listed)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.done = 0
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = click.progressbar(length=max(total, 1), label=self.label, show_pos=True)
            self._bar.__enter__()
        self._bar.length = max(total, 1)
        self._bar.update(max(0, done - self.done))
        self.done = done

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)


@click.group(name="apod")
def apod() -> None:
    """NASA Astronomy Picture of the Day."""


@apod.command(name="import")
@click.option("--date", help="One day, YYYY-MM-DD or 'today'.")
@click.option("--start-date", help="First day of a range, YYYY-MM-DD.")
@click.option("--end-date", help="Last day of the range (default: today).")
@click.option("--count", type=int, help="This many random entries (1-100).")
@click.option("--thumbs/--no-thumbs", default=None, help="Import a video's thumbnail image.")
@click.option("--user", "user_email", required=True, help="E-mail of the owning user.")
def import_command(
    date: str | None,
    start_date: str | None,
    end_date: str | None,
    count: int | None,
    thumbs: bool | None,
    user_email: str,
) -> None:
    """Import APOD pictures into the user's "APOD" album (skipping ones already there)."""
    query = {
        key: str(value)
        for key, value in (
            ("date", date),
            ("start_date", start_date),
            ("end_date", end_date),
            ("count", count),
        )
        if value is not None
    }
    if thumbs is not None:
        query["thumbs"] = "true" if thumbs else "false"
    if not query:
        raise click.UsageError("give --date, --start-date [--end-date] or --count")
    try:
        # The same checks the source makes, so a typo fails before anything starts; the range
        # length limit is a setting, left to the source.
        parse_query(query, today=apod_today(), default_thumbs=False, max_range_days=1 << 20)
    except SourceQueryError as exc:
        raise click.UsageError(str(exc)) from None
    facade = find_import_facade()
    if facade is None:
        raise click.ClickException(
            "this Salon core has no salon.api.run_source_import; upgrade the salon package"
        )
    with ProgressBar("Importing APOD") as bar:
        try:
            result = asyncio.run(
                facade(source="apod", query=query, user_email=user_email, progress=bar)
            )
        except SourceQueryError as exc:
            raise click.UsageError(str(exc)) from None
        except SalonError as exc:  # upstream failures, unknown user: no traceback
            raise click.ClickException(str(exc)) from None
    for key, value in result.items():
        click.echo(f"{key}: {value}")
