"""The uncached listing (issue 19.2): one pool checkout per request for the token check, the
user and the page; the page still right, its cursor still working, a revoked session still
refused. The real app on SQLite with the read caches off (every request goes to the database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiosqlite
from salon.testing.fixtures import running_app, sample_jpeg
from sqlalchemy import event, text


async def test_an_uncached_listing_reads_through_one_session(tmp_path: Path) -> None:
    # No in-process worker: its queue polls would share the pool and thread counted here.
    env = {"SALON_READ_CACHE_MB": "0", "SALON_INPROCESS_WORKER": "false"}
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


async def test_an_uncached_page_is_the_images_own_json(tmp_path: Path, monkeypatch: Any) -> None:
    """The page passes ``meta`` through as stored and reads only the renditions' names and
    widths (issue 19.2): each item is still what ``GET /api/images/{id}`` answers, also for
    metadata Python's json wrote with NaN (not JSON) and for none at all; and a listing is
    one trip to aiosqlite's thread per statement (token, user, page), no rollback trip."""
    # No in-process worker: its queue polls would share the pool and thread counted here.
    env = {"SALON_READ_CACHE_MB": "0", "SALON_INPROCESS_WORKER": "false"}
    async with running_app(tmp_path / "data", env=env) as app:
        headers = await app.login()
        for n in range(3):
            made = await app.upload(headers, sample_jpeg(64, 48, (n * 60, 10, 10)), title=f"p{n}")
            assert made.status_code == 201, made.text
        async with app.runtime.engine.begin() as connection:
            await connection.execute(
                text("UPDATE images SET meta = :meta WHERE title = 'p1'"),
                {"meta": '{"exposure": NaN, "lens": "caf\\u00e9"}'},
            )
            await connection.execute(text("UPDATE images SET meta = '{}' WHERE title = 'p0'"))
        hops: list[str] = []
        real = aiosqlite.Connection._execute

        async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kw: Any) -> Any:
            hops.append(getattr(fn, "__name__", "?"))
            return await real(self, fn, *args, **kw)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        page = await app.client.get("/api/images", headers=headers)
        monkeypatch.undo()
        assert page.status_code == 200, page.text
        assert len(hops) == 3, hops
        items = page.json()["items"]
        assert [item["metadata"].get("lens") for item in items] == [None, "café", None]
        assert items[1]["metadata"]["exposure"] is None and items[2]["metadata"] == {}
        for item in items:
            own = await app.client.get(f"/api/images/{item['id']}", headers=headers)
            assert own.json() == item
            assert item["rendition_widths"] and set(item["rendition_widths"]) == set(
                item["urls"]["renditions"]
            )
