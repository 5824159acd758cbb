"""ASGI entry point for servers: ``granian --interface asgi --factory salon.asgi:create_app``."""

from __future__ import annotations

from litestar import Litestar

from salon.app import create_app as _create_app


def create_app() -> Litestar:
    """Settings from the environment, read once here."""
    return _create_app()
