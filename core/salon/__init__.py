"""Salon: a plugin-based image gallery framework."""

from __future__ import annotations

from salon.context import SalonContext, require_user
from salon.hookspecs import hookimpl

__all__ = ["SalonContext", "__version__", "hookimpl", "require_user"]
__version__ = "0.1.0"
