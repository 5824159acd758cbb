"""The photo log in a real app, found by its entry point as an installed plugin is: a stored
image queues a ``photo_log.record`` job whose handler writes the plugin's own table (made by
its migrations), which ``GET /api/photo-log`` reads for the signed-in user only; on SQLite
and PostgreSQL (``salon_database``: PostgreSQL needs SALON_TEST_POSTGRES_URL)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from salon.cli import cli
from salon.testing import RunningApp, running_app, sample_jpeg
from salon_photo_log import KIND

ENABLED = {"SALON_PHOTO_LOG_ENABLED": "true"}


async def _log(app: RunningApp, headers: dict[str, str], count: int) -> list[dict[str, Any]]:
    """The caller's log once it has ``count`` entries (the job runs after the upload)."""
    for _ in range(300):
        answer = await app.client.get("/api/photo-log", headers=headers)
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, Any]] = answer.json()["entries"]
        if len(entries) >= count:
            return entries
        await asyncio.sleep(0.05)
    raise AssertionError(f"the photo log never had {count} entries")


async def _jobs(app: RunningApp) -> list[tuple[str, str]]:
    """(kind, status) of every job, read on the app's loop (where its database pool is)."""

    async def read() -> list[tuple[str, str]]:
        async with app.salon("photo_log").connect() as conn:
            rows = await conn.execute(sa.text("SELECT kind, status FROM jobs"))
            return [(str(kind), str(status)) for kind, status in rows]

    return await app.call(read)


async def _kinds(app: RunningApp) -> list[str]:
    return [kind for kind, _status in await _jobs(app)]


@pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)
async def test_stored_images_are_logged_for_their_owner_only(
    tmp_path: Path, salon_database: str
) -> None:
    async with running_app(tmp_path / "data", env=ENABLED, database_url=salon_database) as app:
        alice = await app.login()
        bob = await app.login()
        created = await app.upload(alice, sample_jpeg(320, 200), title="quay")
        assert created.status_code == 201, created.text
        [entry] = await _log(app, alice, 1)
        assert entry["image_id"] == created.json()["id"]
        assert (entry["title"], entry["width"], entry["height"]) == ("quay", 320, 200)
        assert entry["size"] == created.json()["size"]
        # Stored in UTC and read back with its offset on SQLite too (it keeps none itself).
        assert dt.datetime.fromisoformat(entry["logged_at"]).utcoffset() == dt.timedelta(0)
        assert (await app.client.get("/api/photo-log", headers=bob)).json() == {"entries": []}
        anonymous = await app.client.get("/api/photo-log")
        assert anonymous.status_code == 401, anonymous.text
        assert "Bearer" in anonymous.headers["www-authenticate"]
        # The same image again is not logged twice (the job is idempotent).
        again = await app.upload(alice, sample_jpeg(320, 200), title="quay")
        assert again.json()["id"] == entry["image_id"]
        assert KIND in await _kinds(app)
        assert len(await _log(app, alice, 1)) == 1


async def test_a_redelivered_job_logs_once(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", env=ENABLED) as app:
        alice = await app.login()
        created = (await app.upload(alice, sample_jpeg(), title="twice")).json()
        await _log(app, alice, 1)
        salon = app.salon("photo_log")
        me = (await app.client.get("/api/me", headers=alice)).json()
        payload = {"image_id": created["id"]}
        await app.call(lambda: salon.queue.enqueue(KIND, payload, owner_id=me["id"]))
        for _ in range(300):
            statuses = [status for kind, status in await _jobs(app) if kind == KIND]
            if statuses.count("succeeded") == 2:
                break
            await asyncio.sleep(0.05)
        assert statuses.count("succeeded") == 2, statuses
        assert len(await _log(app, alice, 1)) == 1


async def test_off_by_default(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        alice = await app.login()
        assert (await app.upload(alice, sample_jpeg())).status_code == 201
        await asyncio.sleep(0.3)
        assert KIND not in await _kinds(app)
        assert (await app.client.get("/api/photo-log", headers=alice)).json() == {"entries": []}


@pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)
def test_salon_db_upgrade_makes_the_plugin_table(
    tmp_path: Path, salon_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALON_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SALON_DATABASE_URL", salon_database)
    monkeypatch.setenv("SALON_CONFIG", str(tmp_path / "absent.toml"))
    for _ in range(2):  # safe to repeat
        result = CliRunner().invoke(cli, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "plugin photo_log tables (photo_log) at revision 0001" in result.output
    counted = CliRunner().invoke(cli, ["photo-log", "count"])
    assert counted.exit_code == 0, counted.output
    assert counted.output.strip() == "0 images logged"
    down = CliRunner().invoke(cli, ["db", "downgrade", "base"])
    assert down.exit_code == 0, down.output
    tables = asyncio.run(_tables(salon_database))
    # Gone, the plugin's first (its version table stays, empty, as the core's does).
    assert "photo_log_entries" not in tables and "images" not in tables


async def _tables(database_url: str) -> set[str]:
    from salon.runtime import make_engine

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()
