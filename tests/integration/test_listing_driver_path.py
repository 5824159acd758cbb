"""A page-cache miss of ``GET /api/images`` answered ahead of the router (issue 19.2): the page
read straight from the driver (``salon.db.direct``) when the token and the user come from
their caches. It must answer exactly what the route answers (status, bytes, headers,
metrics) for every query it takes, fill the page cache with those bytes, and leave to the
route everything else: bad cursors, a lost connection, a revoked session, a changed user.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client import REGISTRY
from salon.domain.images.listing import ImageLister
from salon.testing.fixtures import TEST_PASSWORD, RunningApp, sample_jpeg

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options")


def _listed(status: int = 200) -> float:
    labels = {"app_name": "salon", "method": "GET", "path": "/api/images"}
    labels["status_code"] = str(status)
    return REGISTRY.get_sample_value("litestar_requests_total", labels) or 0.0


class Spy:
    """Counts the pages :meth:`ImageLister.driver_page` read (not those it found cached)."""

    def __init__(self, pages: ImageLister) -> None:
        self.pages = pages
        self.read = 0
        real = pages.driver_page

        async def counting(*args: Any, **kwargs: Any) -> bytes | None:
            before = len(pages._entries._entries)
            body = await real(*args, **kwargs)
            self.read += body is not None and len(pages._entries._entries) > before
            return body

        pages.driver_page = counting  # type: ignore[method-assign]

    def forget_pages(self) -> None:
        self.pages._entries._entries.clear()
        self.pages._entries._size = 0


async def _bearer(app: RunningApp, email: str) -> dict[str, str]:
    await app.login(email)  # signs up
    app.client.cookies.clear()  # bearer only: no cookie session beside it
    response = await app.client.post(
        "/api/auth/login", json={"email": email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _routed(query: str) -> str:
    """The same query spelt so that only the router reads it (an encoded ``l``)."""
    return query.replace("limit=", "%6Cimit=", 1) if "limit=" in query else query + "&x=%31"


async def _both(app: RunningApp, spy: Spy, headers: dict[str, str], query: str) -> Any:
    """The driver path's answer and the route's to ``query``, each read from the database."""
    spy.forget_pages()
    read, counted = spy.read, _listed()
    fast = await app.client.get(f"/api/images?{query}", headers=headers)
    assert spy.read == read + 1, f"{query}: not read on the driver path"
    assert _listed() == counted + 1
    spy.forget_pages()
    routed = await app.client.get(f"/api/images?{_routed(query)}", headers=headers)
    assert spy.read == read + 1
    assert fast.status_code == routed.status_code == 200, routed.text
    assert fast.content == routed.content, query
    for name in ("content-type", "content-length", *SECURITY_HEADERS):
        assert fast.headers.get(name) == routed.headers.get(name), name
    assert fast.headers["x-request-id"] and fast.headers["x-request-id"] != routed.headers.get(
        "x-request-id"
    )
    # A hit after the miss answers the bytes the miss produced.
    spy.forget_pages()
    first = await app.client.get(f"/api/images?{query}", headers=headers)
    again = await app.client.get(f"/api/images?{query}", headers=headers)
    assert spy.read == read + 2 and again.content == first.content == fast.content
    return fast.json()


async def _library(app: RunningApp, headers: dict[str, str], count: int) -> list[str]:
    ids = []
    for n in range(count):
        made = await app.upload(headers, sample_jpeg(40, 30, (n * 40, 90, 20)), title=f"p{n}")
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


async def test_the_driver_path_answers_what_the_route_answers(salon_app: RunningApp) -> None:
    app = salon_app
    a = await _bearer(app, "a@example.com")
    b = await _bearer(app, "b@example.com")
    ids = await _library(app, a, 6)
    others = await _library(app, b, 2)
    # A capture time for the timeline, a favorite, metadata with a NaN and one in the trash.
    dated = await app.client.patch(
        f"/api/images/{ids[1]}", json={"taken_at": "2001-02-03T04:05:06+02:00"}, headers=a
    )
    assert dated.status_code == 200, dated.text
    assert (await app.client.put(f"/api/images/{ids[2]}/favorite", headers=a)).status_code == 200
    trashed = await app.client.delete(f"/api/images/{ids[3]}", headers=a)
    assert trashed.status_code < 300, trashed.text
    # Python's json wrote NaN (not JSON) into SQLite's column; PostgreSQL's refuses it.
    nan = "NaN" if app.runtime.engine.dialect.name == "sqlite" else "null"
    meta = f'{{"exposure": {nan}, "lens": "caf\\u00e9"}}'
    await _write_elsewhere(app, f"UPDATE images SET meta = '{meta}' WHERE id = $1", ids[4])
    # A title JSON must escape, a time with microseconds, one still processing (no
    # renditions, no metadata).
    title = 'caf\u00e9 "q" \\ </b>\n\t\u2028\x01 \U0001f600'
    titled = await app.client.patch(f"/api/images/{ids[0]}", json={"title": title}, headers=a)
    assert titled.status_code == 200, titled.text
    title = titled.json()["title"]  # cleaned of its control characters; the rest as sent
    assert '"q" \\' in title and "caf\u00e9" in title and "\U0001f600" in title, title
    micro = await app.client.patch(
        f"/api/images/{ids[5]}", json={"taken_at": "2011-02-03T04:05:06.000250Z"}, headers=a
    )
    assert micro.status_code == 200, micro.text
    processing = "UPDATE images SET renditions = '{}', meta = '{}', status = 'processing'"
    await _write_elsewhere(app, f"{processing} WHERE id = $1", ids[2])
    await app.client.get("/api/images", headers=a)  # the route fills the token and user caches
    await app.client.get("/api/images", headers=b)
    spy = Spy(app.runtime.services.image_pages)

    listed: list[str] = []
    for order in ("uploaded", "taken"):
        query: str | None = f"limit=2&order={order}" if order == "taken" else "limit=2"
        seen = []
        while query is not None:
            page = await _both(app, spy, a, query)
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            query = None if cursor is None else f"limit=2&cursor={cursor}"
            if cursor is not None and order == "taken":
                query += "&order=taken"
        assert sorted(seen) == sorted(set(ids) - {ids[3]}), order  # no trash, no one else's
        listed.append(",".join(seen))
    assert listed[0] != listed[1]  # the timeline put the 2001 photo last
    for query, count in (("order=uploaded", 5), ("limit=50", 5), ("limit=1", 1), ("limit=200", 5)):
        page = await _both(app, spy, a, query)
        assert len(page["items"]) == count
        assert {item["id"] for item in page["items"]} <= set(ids) - {ids[3]}
    # Every kind of value went through the driver path: both of each.
    items = (await _both(app, spy, a, "limit=50"))["items"]
    assert {item["title"] for item in items} >= {title, "p1"}
    assert {item["taken_at"] for item in items} >= {
        None,
        "2001-02-03T02:05:06Z",
        "2011-02-03T04:05:06.000250Z",
    }
    assert {item["favorite"] for item in items} == {True, False}
    assert {item["status"] for item in items} == {"processing", "ready"}
    assert {bool(item["urls"]["renditions"]) for item in items} == {True, False}
    assert {bool(item["rendition_widths"]) for item in items} == {True, False}
    assert {item["metadata"].get("lens") for item in items} >= {None, "caf\u00e9"}
    assert {} in [item["metadata"] for item in items]
    page = await _both(app, spy, b, "limit=50")
    assert [item["id"] for item in page["items"]] == others[::-1]

    # Cursors the server did not make, or made for the other order: the route's 400.
    taken_cursor = (await app.client.get("/api/images?limit=1&order=taken", headers=a)).json()
    for bad in ("cursor=abc", f"cursor={taken_cursor['next_cursor']}", "cursor=" + "A" * 300):
        read = spy.read
        answer = await app.client.get(f"/api/images?{bad}", headers=a)
        routed = await app.client.get(f"/api/images?{_routed(bad)}", headers=a)
        assert answer.status_code == routed.status_code == 400, answer.text
        assert answer.content == routed.content and spy.read == read


async def test_lost_connections_and_changed_sessions_go_to_the_route(
    salon_app: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = salon_app
    a = await _bearer(app, "a@example.com")
    ids = await _library(app, a, 2)
    expected = await app.client.get("/api/images", headers=a)
    spy = Spy(app.runtime.services.image_pages)

    # The driver fails: the connection is dropped and the route answers the same page.
    from salon.db.direct import DirectSelect

    real = DirectSelect._fetch

    async def lost(self: DirectSelect, driver: Any, parameters: list[Any]) -> Any:
        monkeypatch.setattr(DirectSelect, "_fetch", real)
        raise ConnectionResetError("connection lost")

    monkeypatch.setattr(DirectSelect, "_fetch", lost)
    spy.forget_pages()
    answer = await app.client.get("/api/images", headers=a)
    assert answer.status_code == 200 and answer.content == expected.content
    assert spy.read == 0
    spy.forget_pages()
    assert (await app.client.get("/api/images", headers=a)).content == expected.content
    assert spy.read == 1  # the pool gave a working connection again

    # Another process writes a photo's title: the next miss reads it.
    await _write_elsewhere(app, "UPDATE images SET title = 'renamed' WHERE id = $1", ids[0])
    await _eventually(app, a, lambda page: page["items"][-1]["title"] == "renamed")

    # A changed user row (another process): once its notice arrives (PostgreSQL's NOTIFY
    # comes a moment later; SQLite's change counter at once) the route looks the user up
    # again instead of the driver path answering.
    await _write_elsewhere(app, "UPDATE users SET email = 'new@example.com' WHERE email = $1", None)
    deadline = time.monotonic() + 5
    while True:
        read = spy.read
        spy.forget_pages()
        routed = await app.client.get("/api/images", headers=a)
        assert routed.status_code == 200
        if spy.read == read:
            break
        assert app.runtime.engine.dialect.name != "sqlite", "SQLite's counter is read at once"
        assert time.monotonic() < deadline, "the changed user was never looked up again"
        await asyncio.sleep(0.05)

    # A revoked session is refused at once.
    spy.forget_pages()
    await app.client.get("/api/images", headers=a)
    assert (await app.client.post("/api/auth/logout", headers=a)).status_code < 300
    refused = await app.client.get("/api/images", headers=a)
    assert refused.status_code == 401


def _stored_id(app: RunningApp, image_id: str) -> Any:
    import uuid

    value = uuid.UUID(image_id)
    return value.bytes if app.runtime.engine.dialect.name == "sqlite" else value


async def _write_elsewhere(app: RunningApp, sql: str, image_id: str | None) -> None:
    """``sql`` committed by a connection of its own, as another process would."""
    url = app.runtime.engine.url
    argument = _stored_id(app, image_id) if image_id else "a@example.com"
    if url.get_backend_name() == "sqlite":
        import sqlite3

        with sqlite3.connect(str(url.database)) as connection:
            connection.execute(sql.replace("$1", "?"), (argument,))
        return
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(**url.translate_connect_args(username="user"))
    try:
        await connection.execute(sql, argument)
    finally:
        await connection.close()


async def _eventually(app: RunningApp, headers: dict[str, str], check: Any) -> None:
    deadline = time.monotonic() + 5
    while True:
        page = await app.client.get("/api/images", headers=headers)
        if check(page.json()):
            return
        assert time.monotonic() < deadline, "the other process's write was never listed"
        await asyncio.sleep(0.05)
