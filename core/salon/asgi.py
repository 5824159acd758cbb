"""ASGI entry point for servers: ``granian --interface asgi --factory salon.asgi:create_app``."""

from __future__ import annotations

import gc

from litestar import Litestar

from salon.app import create_app as _create_app


def create_app() -> Litestar:
    """Settings from the environment, read once here."""
    app = _create_app()
    # What start-up made (modules, mappers, routes, plugins) lives as long as the server
    # process: once frozen, the periodic full collection no longer walks it, about a tenth
    # of a cached read's CPU (issue 21). Here, not in the app factory that tests call many
    # times per process: frozen objects are never collected. Garbage first, so none is kept.
    gc.collect()
    gc.freeze()
    return app
