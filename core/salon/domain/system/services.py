"""Readiness: the database and its schema, storage, the queue and job handlers that can
check themselves, each "ok" or what is wrong (for internal eyes only)."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from sqlalchemy import text

from salon.db.schema import read_state
from salon.domain.ports import ReadinessPorts
from salon.providers import ReadinessCheck

log = logging.getLogger("salon.ready")


@cache
def _migrations() -> Any:
    from salon.db.migrate import scripts

    return scripts()


async def _database(runtime: ReadinessPorts) -> dict[str, str]:
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            state = await connection.run_sync(read_state, _migrations())
    except Exception as exc:
        log.warning("readiness: database: %s", type(exc).__name__)
        return {"database": "unavailable"}
    if not state.usable:
        log.warning("readiness: schema %s", state.describe())
    return {"database": "ok", "schema": "ok" if state.usable else state.describe()}


async def readiness(runtime: ReadinessPorts) -> dict[str, str]:
    """Each dependency's state: "ok", or what is wrong (for internal eyes only)."""
    checks = await _database(runtime)
    for name, part in (("storage", runtime.storage), ("queue", runtime.queue)):
        try:
            await part.check()
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness: %s: %s", name, exc)
            checks[name] = f"unavailable: {exc}"[:200]
    for name, handler in runtime.job_handlers.items():
        if isinstance(handler, ReadinessCheck):
            try:
                await handler.check()
            except Exception as exc:
                log.warning("readiness: jobs:%s: %s", name, exc)
                checks[f"jobs:{name}"] = f"unavailable: {exc}"[:200]
    return checks
