"""The uncached listing (issue 19.2): one pool checkout per request for the token check, the
user and the page; the page still right, its cursor still working, a revoked session still
refused. The real app on SQLite with the read caches off (every request goes to the database)."""

from __future__ import annotations

from pathlib import Path

from salon.testing.fixtures import running_app, sample_jpeg
from sqlalchemy import event


async def test_an_uncached_listing_reads_through_one_session(tmp_path: Path) -> None:
    env = {"SALON_READ_CACHE_MB": "0"}
    async with running_app(tmp_path / "data", env=env) as app:
        headers = await app.login()
        for n in range(3):
            made = await app.upload(headers, sample_jpeg(64, 48, (n * 60, 10, 10)), title=f"p{n}")
            assert made.status_code == 201, made.text
        checkouts: list[int] = []
        pool = app.runtime.engine.sync_engine.pool
        event.listen(pool, "checkout", lambda *_: checkouts.append(1))

        first = await app.client.get("/api/images", params={"limit": 2}, headers=headers)
        assert first.status_code == 200, first.text
        assert len(checkouts) == 1  # token check, user and page: one session
        page = first.json()
        assert [item["title"] for item in page["items"]] == ["p2", "p1"]
        assert page["items"][0]["urls"]["renditions"] and page["items"][0]["metadata"]
        checkouts.clear()
        rest = await app.client.get(
            "/api/images", params={"limit": 2, "cursor": page["next_cursor"]}, headers=headers
        )
        assert [item["title"] for item in rest.json()["items"]] == ["p0"]
        assert len(checkouts) == 1

        # A route that did not opt in keeps a session per reader.
        checkouts.clear()
        assert (await app.client.get("/api/me", headers=headers)).status_code == 200
        assert len(checkouts) >= 2

        # The shared session still sees a revoked session: refused at once.
        assert (await app.client.post("/api/auth/logout", headers=headers)).status_code < 300
        again = await app.client.get("/api/images", headers=headers)
        assert again.status_code == 401
