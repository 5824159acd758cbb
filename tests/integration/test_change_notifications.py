"""The read caches never answer with what a commit has changed: commits made through the app,
and commits by other processes (a raw SQLite connection in a child process; a separate
PostgreSQL connection, whose NOTIFY reaches the app's listener). PostgreSQL: every table
carries the change trigger, and while the listener is down the caches are off."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from salon.db.changes import LISTENER_NAME
from salon.db.models import metadata
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

# PostgreSQL delivers notifications after the commit, asynchronously: allow for that.
NOTIFY_WAIT_S = 5.0


def _is_sqlite(app: RunningApp) -> bool:
    return app.runtime.engine.url.get_backend_name() == "sqlite"


async def _external_sql(app: RunningApp, sql: str, *params: Any) -> None:
    """Run one write outside the app: a child process on SQLite, another connection (another
    PostgreSQL backend) on PostgreSQL."""
    url = app.runtime.engine.url
    if url.get_backend_name() == "sqlite":
        script = (
            "import sqlite3, sys, uuid\n"
            "conn = sqlite3.connect(sys.argv[1], timeout=30)\n"
            "params = [uuid.UUID(p).bytes if len(p) == 36 else p for p in sys.argv[3:]]\n"
            "conn.execute(sys.argv[2], params)\n"
            "conn.commit()\n"
        )
        sqlite_sql = sql.replace("$1", "?").replace("$2", "?")
        args = [str(p) for p in params]
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", script, str(url.database), sqlite_sql, *args],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(**url.translate_connect_args(username="user"))
    try:
        await conn.execute(sql, *params)
    finally:
        await conn.close()


async def _eventually(app: RunningApp, check: Callable[[], Awaitable[bool]]) -> None:
    """SQLite: true on the very next request. PostgreSQL: true within NOTIFY_WAIT_S."""
    if _is_sqlite(app):
        assert await check()
        return
    deadline = time.monotonic() + NOTIFY_WAIT_S
    while not await check():
        assert time.monotonic() < deadline, "the change was not seen in time"
        await asyncio.sleep(0.05)


async def _wait_live(app: RunningApp) -> None:
    deadline = time.monotonic() + NOTIFY_WAIT_S
    while not app.runtime.changes.live:
        assert time.monotonic() < deadline, "the change listener did not connect"
        await asyncio.sleep(0.05)


async def _ids(app: RunningApp, headers: dict[str, str], query: str = "") -> list[str]:
    response = await app.client.get(f"/api/images{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_own_writes_are_seen_at_once(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    await _wait_live(salon_app)
    assert await _ids(salon_app, headers) == []
    first = (await salon_app.upload(headers, sample_jpeg(color=(9, 9, 9)))).json()["id"]
    assert await _ids(salon_app, headers) == [first]  # the empty page was cached
    assert await _ids(salon_app, headers, "?favorite=true") == []
    favored = await salon_app.client.put(f"/api/images/{first}/favorite", headers=headers)
    assert favored.status_code == 200, favored.text
    assert await _ids(salon_app, headers, "?favorite=true") == [first]
    album = await salon_app.client.post("/api/albums", json={"name": "A"}, headers=headers)
    album_id = album.json()["id"]
    assert await _ids(salon_app, headers, f"?album_id={album_id}") == []
    added = await salon_app.client.post(
        f"/api/albums/{album_id}/images", json={"image_ids": [first]}, headers=headers
    )
    assert added.status_code < 300, added.text
    assert await _ids(salon_app, headers, f"?album_id={album_id}") == [first]
    deleted = await salon_app.client.delete(f"/api/images/{first}", headers=headers)
    assert deleted.status_code == 204
    assert await _ids(salon_app, headers) == []


async def test_a_delete_by_another_process_is_seen(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    await _wait_live(salon_app)
    keep = (await salon_app.upload(headers, sample_jpeg(color=(1, 1, 1)))).json()["id"]
    gone = (await salon_app.upload(headers, sample_jpeg(color=(2, 2, 2)))).json()["id"]
    assert set(await _ids(salon_app, headers)) == {keep, gone}
    assert set(await _ids(salon_app, headers)) == {keep, gone}  # served from the cache now
    await _external_sql(salon_app, "DELETE FROM images WHERE id = $1", uuid.UUID(gone))

    async def only_keep_left() -> bool:
        return await _ids(salon_app, headers) == [keep]

    await _eventually(salon_app, only_keep_left)


async def test_a_revocation_by_another_process_is_seen(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    await _wait_live(salon_app)
    assert (await salon_app.client.get("/api/me", headers=headers)).status_code == 200
    assert (await salon_app.client.get("/api/me", headers=headers)).status_code == 200
    await _external_sql(
        salon_app, "UPDATE refresh_tokens SET revoked_at = updated_at WHERE revoked_at IS NULL"
    )

    async def refused() -> bool:
        return (await salon_app.client.get("/api/me", headers=headers)).status_code == 401

    await _eventually(salon_app, refused)


async def test_an_email_changed_by_another_process_is_seen(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    await _wait_live(salon_app)
    me = (await salon_app.client.get("/api/me", headers=headers)).json()
    await _external_sql(
        salon_app,
        "UPDATE users SET email = $1 WHERE id = $2",
        "new@example.com",
        uuid.UUID(me["id"]),
    )

    # The token still names the old address, so the app writes it back: what matters is that
    # the lookup ran again instead of answering from the cache, which the row now shows.
    async def looked_up_again() -> bool:
        response = await salon_app.client.get("/api/me", headers=headers)
        return response.status_code == 200 and response.json()["email"] == me["email"]

    await _eventually(salon_app, looked_up_again)


async def test_every_table_has_the_change_trigger(salon_app: RunningApp) -> None:
    if _is_sqlite(salon_app):
        pytest.skip("PostgreSQL only: SQLite needs no trigger (its WAL index header changes)")
    import asyncpg

    url = salon_app.runtime.engine.url
    conn = await asyncpg.connect(**url.translate_connect_args(username="user"))
    try:
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'salon_notify_change'"
        )
    finally:
        await conn.close()
    # A table that says it sends none (rate_counters: written on every login attempt, read by
    # no cache) is left out.
    watched = {t.name for t in metadata.tables.values() if t.info.get("change_notifications", 1)}
    missing = watched - {row["relname"] for row in rows}
    assert not missing, f"tables without the salon_notify_change trigger: {sorted(missing)}"


async def test_caches_are_off_while_the_listener_is_down(salon_app: RunningApp) -> None:
    if _is_sqlite(salon_app):
        pytest.skip("PostgreSQL only: SQLite has no listener connection to lose")
    headers = await salon_app.login()
    await _wait_live(salon_app)
    keep = (await salon_app.upload(headers, sample_jpeg(color=(3, 3, 3)))).json()["id"]
    gone = (await salon_app.upload(headers, sample_jpeg(color=(4, 4, 4)))).json()["id"]
    assert set(await _ids(salon_app, headers)) == {keep, gone}
    await _external_sql(
        salon_app,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE application_name = '{LISTENER_NAME}' AND datname = current_database()",
    )
    deadline = time.monotonic() + NOTIFY_WAIT_S
    while salon_app.runtime.changes.live:
        assert time.monotonic() < deadline, "the lost listener was not noticed"
        await asyncio.sleep(0.02)
    # Not live: a change is seen on the next request, with no notification at all.
    await _external_sql(salon_app, "DELETE FROM images WHERE id = $1", uuid.UUID(gone))
    if not salon_app.runtime.changes.live:
        assert await _ids(salon_app, headers) == [keep]
    await _wait_live(salon_app)  # reconnects by itself
    assert await _ids(salon_app, headers) == [keep]


async def test_with_the_caches_off_every_request_reads_the_database(
    tmp_path: Path, salon_database: str
) -> None:
    env = {"SALON_READ_CACHE_MB": "0"}
    async with running_app(tmp_path / "data", database_url=salon_database, env=env) as app:
        assert app.runtime.changes is None  # nothing follows commits, nothing listens
        headers = await app.login()
        gone = (await app.upload(headers, sample_jpeg(color=(5, 5, 5)))).json()["id"]
        assert await _ids(app, headers) == [gone]
        await _external_sql(app, "DELETE FROM images WHERE id = $1", uuid.UUID(gone))
        assert await _ids(app, headers) == []  # at once, on both databases
