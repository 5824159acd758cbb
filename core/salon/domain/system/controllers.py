"""``/health`` (the process is up), ``/ready`` (it can serve: database, storage, queue)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text

from salon.runtime import Runtime

log = logging.getLogger("salon.ready")


@get("/health", operation_id="health", tags=["system"], include_in_schema=True)
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def readiness(runtime: Runtime) -> dict[str, str]:
    """Each dependency's state; a failure's message names the part, not its secrets."""
    checks: dict[str, str] = {}
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        log.warning("readiness: database: %s", type(exc).__name__)
        checks["database"] = "unavailable"
    for name, part in (("storage", runtime.storage), ("queue", runtime.queue)):
        try:
            await part.check()
            checks[name] = "ok"
        except Exception as exc:
            log.warning("readiness: %s: %s", name, exc)
            checks[name] = f"unavailable: {exc}"[:200]
    for name, handler in runtime.job_handlers.items():
        check = getattr(handler, "check", None)
        if check is not None:
            try:
                await check()
            except Exception as exc:
                checks[f"jobs:{name}"] = f"unavailable: {exc}"[:200]
    return checks


@get("/ready", operation_id="ready", tags=["system"])
async def ready(runtime: Runtime) -> Response[dict[str, Any]]:
    checks = await readiness(runtime)
    ok = all(value == "ok" for value in checks.values())
    status = HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE
    return Response({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=status)
