"""The one request middleware (salon.request_middleware) keeps what the three it replaced did:
Litestar's metric names and labels (the route's template as ``path``), the in-progress gauge
back to zero, errors counted, and the ``X-Request-Id`` echo."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY
from salon.testing.fixtures import running_app


def _sample(name: str, path: str, status: int | None, method: str = "GET") -> float:
    labels = {"app_name": "salon", "method": method, "path": path}
    labels["status_code"] = str(200 if status is None else status)
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_and_request_ids_per_route(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        headers = await app.login()
        before = _sample("litestar_requests_total", "/api/images", 200)
        refused_before = _sample("litestar_requests_total", "/api/images", 401)
        timed_before = _sample("litestar_request_duration_seconds_count", "/api/images", 200)

        kept = await app.client.get("/api/images", headers={**headers, "X-Request-Id": "trace-7.b"})
        assert kept.status_code == 200 and kept.headers["x-request-id"] == "trace-7.b"
        made = await app.client.get("/api/images", headers=headers)
        assert len(made.headers["x-request-id"]) == 32  # a new one (uuid4 hex)
        refused = await app.client.get("/api/images")
        assert refused.status_code == 401 and refused.headers["x-request-id"]

        assert _sample("litestar_requests_total", "/api/images", 200) == before + 2
        assert _sample("litestar_requests_total", "/api/images", 401) == refused_before + 1
        assert (
            _sample("litestar_request_duration_seconds_count", "/api/images", 200)
            == timed_before + 2
        )
        # A path parameter is labelled by the route's template, not the value.
        image = "00000000-0000-4000-8000-000000000000"
        assert (await app.client.get(f"/api/images/{image}", headers=headers)).status_code == 404
        assert _sample("litestar_requests_total", "/api/images/{image_id}", 404) >= 1
        assert _sample("litestar_requests_in_progress", "/api/images", None) == 0
