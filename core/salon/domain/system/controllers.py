"""``/health`` (the process is up), ``/ready`` (it can serve: database and its schema, storage,
queue), ``/metrics`` (Prometheus).

``/health`` is for liveness probes (the load balancer's target health, the container's
HEALTHCHECK): it touches nothing, so a blip of S3, SQS or the database does not get every task
replaced. ``/ready`` is deep, for deploy gating and operators; everyone learns ready or not,
only internal addresses (``SALON_INTERNAL_ALLOW``) learn which part failed and why.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusController
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy import text

from salon.db.schema import read_state
from salon.domain.deps import RuntimeDep
from salon.domain.system.access import is_internal
from salon.providers import ReadinessCheck
from salon.runtime import Runtime, runtime_of

log = logging.getLogger("salon.ready")


@get("/health", operation_id="health", tags=["system"], include_in_schema=True)
async def health() -> dict[str, str]:
    return {"status": "ok"}


@cache
def _migrations() -> Any:
    from salon.db.migrate import scripts

    return scripts()


async def _database(runtime: Runtime) -> dict[str, str]:
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


async def readiness(runtime: Runtime) -> dict[str, str]:
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


@get("/ready", operation_id="ready", tags=["system"])
async def ready(runtime: RuntimeDep, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    checks = await readiness(runtime)
    ok = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable"}
    if is_internal(request, runtime.core.internal_allow):
        body["checks"] = checks
    return Response(body, status_code=HTTP_200_OK if ok else HTTP_503_SERVICE_UNAVAILABLE)


def internal_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """A guard: the route does not exist for addresses outside ``SALON_INTERNAL_ALLOW``."""
    runtime = runtime_of(connection)
    if not is_internal(connection, runtime.core.internal_allow):
        raise NotFoundException()


class MetricsController(PrometheusController):
    """Prometheus metrics, for internal addresses only (they describe traffic and load)."""

    guards = [internal_only]
