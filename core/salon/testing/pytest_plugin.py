"""Registered as a pytest plugin (entry point ``pytest11``) so fixtures from
``salon.testing.fixtures`` are available to every plugin's tests without a conftest."""

from __future__ import annotations
