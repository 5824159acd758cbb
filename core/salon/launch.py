"""Opening the gallery from a command: the runtime with the core services, and start-up
problems as one line and exit status 2.

Below both ``salon.cli`` and ``salon.api`` (whose functions plugins' commands call), so neither
imports the other; light to import, as every ``salon`` command does.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from salon.errors import ConfigurationError, PluginError

if TYPE_CHECKING:
    from salon.runtime import Runtime

__all__ = ["open_runtime", "startup_errors"]


@contextmanager
def startup_errors() -> Iterator[None]:
    """Start-up problems are the user's to fix: print them plainly, exit 2, no traceback."""
    try:
        yield
    except (ConfigurationError, PluginError) as exc:
        click.echo(f"salon: {exc}", err=True)
        sys.exit(2)


def open_runtime() -> Runtime:
    from salon.composition import compose
    from salon.runtime import build_runtime, load_settings

    with startup_errors():
        settings, pm, registry = load_settings()
        runtime = build_runtime(settings, pm, registry)
    compose(runtime)
    return runtime
