"""The timeline through the real app, on SQLite and PostgreSQL: ``GET /api/images?order=taken``
pages by date taken (upload time when unknown) with keyset cursors of their own, combined with
the other filters; ``GET /api/images/months`` counts each month and gives the cursor that
jumps there; both follow edits, the trash and favorites at once (through the read cache) and
never count another user's photos; the page query is served by ``ix_images_owner_taken``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from salon.domain.images.cursor import encode_cursor
from salon.domain.images.services import page_query
from salon.testing.fixtures import RunningApp

from tests.integration.test_api_search import jpeg, own_session, upload

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

# (EXIF DateTimeOriginal or None, title), uploaded in this order.
PHOTOS = [
    ("2021:07:14 10:00:00", "beach"),
    (None, "screenshot"),  # no date taken: the timeline places it at its upload time (now)
    ("2019:12:31 23:59:59", "new year's eve"),
    ("2021:07:02 08:00:00", "harbour"),
    ("2020:03:01 00:00:00", "march first"),
    ("2021:08:20 18:30:00", "dinner"),
]


async def pages(app: RunningApp, headers: dict[str, str], **params: Any) -> list[list[str]]:
    """Every page of a listing, followed through its cursors: each page's titles."""
    result: list[list[str]] = []
    cursor = params.pop("cursor", None)
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await app.client.get("/api/images", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        for item in page["items"]:
            assert item["width"] == 64 and item["height"] == 48  # a layout needs no download
        result.append([item["title"] for item in page["items"]])
        cursor = page["next_cursor"]
        if not cursor or len(result) > 20:
            return result


async def months(app: RunningApp, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await app.client.get("/api/images/months", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(body: dict[str, Any]) -> list[tuple[str, int]]:
    return [(m["month"], m["count"]) for m in body["months"]]


async def seed(app: RunningApp, headers: dict[str, str]) -> dict[str, str]:
    ids = {}
    for n, (taken, title) in enumerate(PHOTOS):
        data = jpeg((n * 40, 90, 200 - n * 30), taken=taken)
        ids[title] = await upload(app, headers, data, title=title)
    return ids


async def test_pages_by_date_taken_and_months_to_jump_to(salon_app: RunningApp) -> None:
    alice = await salon_app.login()
    await seed(salon_app, alice)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m")

    timeline = await pages(salon_app, alice, order="taken", limit=4)
    assert timeline == [
        ["screenshot", "dinner", "beach", "harbour"],
        ["march first", "new year's eve"],
    ]
    # The default order is still the upload order, newest first.
    uploaded = await pages(salon_app, alice, limit=10)
    assert uploaded == [[title for _taken, title in reversed(PHOTOS)]]

    body = await months(salon_app, alice)
    assert counts(body) == [
        (now, 1),
        ("2021-08", 1),
        ("2021-07", 2),
        ("2020-03", 1),
        ("2019-12", 1),
    ]
    assert body["total"] == 6

    # Each month's cursor starts the timeline at that month's newest photo, and the pages
    # go on into the older months.
    cursors = {m["month"]: m["cursor"] for m in body["months"]}
    jumped = await pages(salon_app, alice, order="taken", limit=2, cursor=cursors["2021-07"])
    assert jumped == [["beach", "harbour"], ["march first", "new year's eve"]]
    jumped = await pages(salon_app, alice, order="taken", limit=5, cursor=cursors["2020-03"])
    assert jumped == [["march first", "new year's eve"]]

    # Combined with a search and a date range (the months too).
    assert await pages(salon_app, alice, order="taken", q="h", limit=5) == [["harbour"]]
    july = {"taken_from": "2021-07", "taken_to": "2021-07"}
    assert await pages(salon_app, alice, order="taken", **july) == [["beach", "harbour"]]
    assert counts(await months(salon_app, alice, **july)) == [("2021-07", 2)]
    assert counts(await months(salon_app, alice, q="dinner")) == [("2021-08", 1)]


async def test_months_and_pages_follow_edits_trash_favorites_and_albums(
    salon_app: RunningApp,
) -> None:
    alice = await salon_app.login()
    bob = await salon_app.login()
    ids = await seed(salon_app, alice)
    await upload(salon_app, bob, jpeg((1, 2, 3), taken="2021:07:20 12:00:00"), title="bob's")
    client = salon_app.client

    # Fill the caches, then change what they hold: the next answers see the change.
    assert counts(await months(salon_app, alice))[2] == ("2021-07", 2)
    assert (await pages(salon_app, alice, order="taken", limit=3))[0][0] == "screenshot"
    moved = await client.patch(
        f"/api/images/{ids['screenshot']}", json={"taken_at": "2021-07-30T09:00:00Z"}, headers=alice
    )
    assert moved.status_code == 200, moved.text
    assert counts(await months(salon_app, alice))[:2] == [("2021-08", 1), ("2021-07", 3)]
    first = (await pages(salon_app, alice, order="taken", limit=3))[0]
    assert first == ["dinner", "screenshot", "beach"]

    # The trash leaves the months (and is counted on its own); bob's photo never shows.
    assert (await client.delete(f"/api/images/{ids['dinner']}", headers=alice)).status_code == 204
    body = await months(salon_app, alice)
    assert counts(body) == [("2021-07", 3), ("2020-03", 1), ("2019-12", 1)]
    assert counts(await months(salon_app, alice, trashed="true")) == [("2021-08", 1)]

    # Favorites and one album.
    await client.put(f"/api/images/{ids['harbour']}/favorite", headers=alice)
    assert counts(await months(salon_app, alice, favorite="true")) == [("2021-07", 1)]
    album = await client.post("/api/albums", json={"name": "Old"}, headers=alice)
    assert album.status_code == 201, album.text
    album_id = album.json()["id"]
    old = [ids["march first"], ids["new year's eve"]]
    added = await client.post(
        f"/api/albums/{album_id}/images", json={"image_ids": old}, headers=alice
    )
    assert added.status_code in (200, 201), added.text
    assert counts(await months(salon_app, alice, album_id=album_id)) == [
        ("2020-03", 1),
        ("2019-12", 1),
    ]
    in_album = await pages(salon_app, alice, order="taken", album_id=album_id)
    assert in_album == [["march first", "new year's eve"]]
    assert counts(await months(salon_app, bob)) == [("2021-07", 1)]


async def test_bad_order_and_cursors_of_the_other_order_are_400(salon_app: RunningApp) -> None:
    alice = await salon_app.login()
    await seed(salon_app, alice)
    client = salon_app.client
    response = await client.get("/api/images", params={"order": "random"}, headers=alice)
    assert response.status_code == 400
    assert "order" in response.text

    uploaded = await client.get("/api/images", params={"limit": 1}, headers=alice)
    taken = await client.get("/api/images", params={"limit": 1, "order": "taken"}, headers=alice)
    wrong = [
        {"order": "taken", "cursor": uploaded.json()["next_cursor"]},
        {"cursor": taken.json()["next_cursor"]},
        {"order": "taken", "cursor": "bm90IGEgY3Vyc29y"},
    ]
    for params in wrong:
        response = await client.get("/api/images", params=params, headers=alice)
        assert response.status_code == 400, params
        assert "malformed cursor" in response.text
    bad = await client.get("/api/images/months", params={"taken_from": "soon"}, headers=alice)
    assert bad.status_code == 400 and "taken_from must be" in bad.text
    anonymous = await client.get("/api/images/months")
    assert anonymous.status_code == 401


async def test_the_timeline_page_is_an_index_scan(
    salon_app: RunningApp, salon_database: str
) -> None:
    """EXPLAIN of the exact page query (a later page, with its cursor) ranges the index
    (``salon_app``: the database migrated to head)."""
    owner = uuid.uuid4()
    cursor = encode_cursor(dt.datetime(2021, 7, 1, tzinfo=dt.UTC), uuid.uuid4(), "taken")
    async with own_session(salon_database) as session:
        connection = await session.connection()
        dialect = connection.dialect
        query = page_query(owner, limit=50, cursor=cursor, dialect=dialect.name, order="taken")
        compiled = query.compile(dialect=dialect)
        # The parameters as the driver gets them (GUIDs as 16 raw bytes on SQLite).
        values = compiled.construct_params()
        procs = compiled._bind_processors
        params = tuple(
            procs[k](values[k]) if k in procs else values[k] for k in compiled.positiontup or []
        )
        if dialect.name == "sqlite":
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params)
            details = " ".join(str(row[-1]) for row in plan.all())
            # The cursor is a range of the index, not a filter over every newer photo.
            assert "USING INDEX ix_images_owner_taken (owner_id=? AND <expr><" in details, details
            assert "TEMP B-TREE" not in details, details  # no sort: the index gives the order
        else:
            # A nearly empty table is cheaper to read whole: ask what the index plan would be.
            await connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = await connection.exec_driver_sql(f"EXPLAIN {compiled}", params)
            details = " ".join(row[0] for row in plan.all())
            assert "ix_images_owner_taken" in details, details
            assert "Index Cond: ((owner_id = " in details and "AND (COALESCE(" in details, details
            assert "Sort" not in details.replace("Sort Key", ""), details
