"""Cached ``GET /api/images`` pages answered ahead of the router (issue 19.1): the same answer
as the route (body, headers, metrics), never a changed page, and every request the route would
read differently (filters, encoded values, API keys, a revoked session) left to the route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from salon.domain.images.cached_listing import plain_listing_query
from salon.testing.fixtures import TEST_PASSWORD, running_app, sample_jpeg


def _listed() -> float:
    labels = {"app_name": "salon", "method": "GET", "path": "/api/images", "status_code": "200"}
    return REGISTRY.get_sample_value("litestar_requests_total", labels) or 0.0


def test_only_plain_queries_are_read_here() -> None:
    assert plain_listing_query(b"") == (50, None, "uploaded")
    assert plain_listing_query(b"limit=2&order=taken&cursor=abc_-") == (2, "abc_-", "taken")
    for refused in (
        b"limit=0", b"limit=201", b"limit=x", b"limit=2&limit=3", b"limit=", b"favorite=true",
        b"order=newest", b"cursor=a%2Bb", b"cursor=a+b", b"q=cat",
    ):  # fmt: skip
        assert plain_listing_query(refused) is None, refused


async def test_cached_pages_answer_like_the_route(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        headers = await app.login()
        for n in range(3):
            made = await app.upload(headers, sample_jpeg(40, 30, (n * 70, 20, 20)), title=f"p{n}")
            assert made.status_code == 201, made.text
        pages = app.runtime.services.image_pages
        served: list[Any] = []
        original = pages.cached_page

        def counting(*args: Any, **kwargs: Any) -> bytes | None:
            body = original(*args, **kwargs)
            served.append(body)
            return body

        pages.cached_page = counting

        # Fills the caches (the token was never checked yet: the route answers).
        routed = await app.client.get("/api/images?limit=2", headers=headers)
        assert not any(served)
        counted = _listed()
        cached = await app.client.get("/api/images?limit=2", headers=headers)
        assert served[-1] is not None  # answered here
        assert cached.content == routed.content and cached.status_code == 200
        for name in ("content-type", "cache-control", "content-security-policy", "x-frame-options"):
            assert cached.headers[name] == routed.headers[name], name
        assert cached.headers["x-request-id"] != routed.headers["x-request-id"]
        assert _listed() == counted + 1
        kept = await app.client.get(
            "/api/images?limit=2", headers={**headers, "X-Request-Id": "trace-9"}
        )
        assert kept.headers["x-request-id"] == "trace-9"

        # A write: the next page is read again, with the new photo.
        new = await app.upload(headers, sample_jpeg(40, 30, (1, 200, 1)), title="p3")
        assert new.status_code == 201, new.text
        after = await app.client.get("/api/images?limit=2", headers=headers)
        assert [item["title"] for item in after.json()["items"]] == ["p3", "p2"]

        # Filters and API keys are the route's, as is anything encoded.
        calls = len(served)
        favorites = await app.client.get("/api/images?limit=2&favorite=true", headers=headers)
        assert favorites.status_code == 200 and favorites.json()["items"] == []
        made = await app.client.post(
            "/api/keys", json={"name": "k", "password": TEST_PASSWORD}, headers=headers
        )
        key = {"Authorization": f"Bearer {made.json()['key']}"}
        for _ in range(2):
            as_key = await app.client.get("/api/images?limit=2", headers=key)
            assert as_key.status_code == 200 and as_key.content == after.content
        assert len(served) == calls

        # A revoked session is refused at once, not served from the cache.
        assert (await app.client.post("/api/auth/logout", headers=headers)).status_code < 300
        refused = await app.client.get("/api/images?limit=2", headers=headers)
        assert refused.status_code == 401
