"""Runs a contract suite against a provider outside pytest's collection, to prove the suite
has teeth: the self-tests hand it deliberately broken providers and check which tests fail."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import pytest


async def failures(suite: type, fixtures: Mapping[str, object]) -> dict[str, str]:
    """Every ``test_*`` of ``suite`` run with ``fixtures`` (by parameter name): the name of each
    test that failed, with its message. A test needing a fixture not given counts as skipped,
    as does one that calls ``pytest.skip``."""
    instance = suite()
    failed: dict[str, str] = {}
    for name in sorted(n for n in dir(suite) if n.startswith("test_")):
        method = getattr(instance, name)
        wanted = list(inspect.signature(method).parameters)
        if not set(wanted) <= set(fixtures):
            continue
        try:
            await method(**{p: fixtures[p] for p in wanted})
        except pytest.skip.Exception:
            continue
        except (AssertionError, pytest.fail.Exception, Exception) as exc:
            failed[name] = f"{type(exc).__name__}: {exc}"
    return failed
