"""Salon: a plugin-based image gallery framework."""

from __future__ import annotations

from salon.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"
