"""``/health`` (the process is up), ``/ready`` (it can serve: database and its schema, storage,
queue), ``/metrics`` (Prometheus).

``/health`` is for liveness probes (the load balancer's target health, the container's
HEALTHCHECK): it touches nothing, so a blip of S3, SQS or the database does not get every task
replaced. ``/ready`` is deep, for deploy gating and operators; everyone learns ready or not,
only internal addresses (``SALON_INTERNAL_ALLOW``) learn which part failed and why.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler
from litestar.plugins.prometheus import PrometheusController
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from salon.domain.deps import RuntimeDep
from salon.domain.system.access import is_internal
from salon.domain.system.services import readiness
from salon.runtime import runtime_of


@get("/health", operation_id="health", tags=["system"], include_in_schema=True)
async def health() -> dict[str, str]:
    return {"status": "ok"}


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
