"""``salon serve`` on a database behind its migrations: the embedded SQLite database is migrated
by serve itself (one process at a time), a PostgreSQL database only with SALON_AUTO_MIGRATE
(else one line naming ``salon db upgrade``), and /ready fails while the schema is behind."""

from __future__ import annotations

import asyncio
import fcntl
import secrets
import sqlite3
from pathlib import Path

import httpx
from salon.db.migrate import MIGRATION_LOCK, scripts
from startup_support import run_salon, serve

HEAD = scripts().get_current_head()  # this release's newest migration


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    return {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_DATABASE_URL": database_url,
        "SALON_SECRET_KEY": secrets.token_urlsafe(32),
        **extra,
    }


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}


def _schema_check(url: str) -> tuple[int, dict[str, str]]:
    response = httpx.get(f"{url}/ready", timeout=30)
    return response.status_code, response.json().get("checks", {})


def test_serve_migrates_the_embedded_database_itself(tmp_path: Path) -> None:
    env = _env(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'data' / 'salon.db'}")
    with serve(env, tmp_path) as server:
        status, checks = _schema_check(server.url)
        assert status == 200, checks
        assert checks["schema"] == "ok"
        assert "migrating the database schema" in server.output()
        assert "alembic.runtime.plugins" not in server.output()
    upgrade = run_salon(env, "db", "upgrade", cwd=tmp_path)
    assert upgrade.returncode == 0 and f"revision {HEAD}" in upgrade.stdout


def test_two_processes_do_not_migrate_at_once(tmp_path: Path) -> None:
    """While another process holds the migration lock, serve waits for it (it neither migrates
    nor listens); once released, it finds the schema and starts."""
    db = tmp_path / "data" / "salon.db"
    db.parent.mkdir(parents=True)
    env = _env(tmp_path, f"sqlite+aiosqlite:///{db}")
    with open(f"{db}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with serve(env, tmp_path, wait=False) as server:
            server.wait_for_output("waiting for another process's migration")
            assert _tables(db) == set()
            assert server.process.poll() is None
            fcntl.flock(lock, fcntl.LOCK_UN)
            server.wait_until_up()
            assert _schema_check(server.url)[0] == 200


async def test_postgres_behind_refuses_in_one_line(tmp_path: Path, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        return  # the embedded database is migrated: see the tests above
    env = _env(tmp_path, database_url)
    refused = run_salon(env, "serve", "--port", "1", cwd=tmp_path, timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "salon db upgrade" in lines[0] and "SALON_AUTO_MIGRATE" in lines[0]
    assert "Listening" not in refused.stdout + refused.stderr


async def test_the_worker_settles_the_schema_too(tmp_path: Path, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        return
    refused = run_salon(_env(tmp_path, database_url), "worker", "--once", cwd=tmp_path, timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "salon db upgrade" in refused.stderr


async def test_postgres_auto_migrate_starts(tmp_path: Path, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        return
    env = _env(tmp_path, database_url, SALON_AUTO_MIGRATE="true")
    with serve(env, tmp_path) as server:
        assert _schema_check(server.url) == (
            200,
            {"database": "ok", "schema": "ok", "storage": "ok", "queue": "ok"},
        )


async def test_postgres_auto_migrations_take_turns(tmp_path: Path, database_url: str) -> None:
    """While another session holds the migration lock, an auto-migrating serve waits on it
    (PostgreSQL shows its request as not granted); once released, it migrates and starts."""
    if database_url.startswith("sqlite"):
        return
    import asyncpg  # type: ignore[import-untyped]

    plain = database_url.replace("postgresql+asyncpg://", "postgresql://")
    holder = await asyncpg.connect(plain)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        env = _env(tmp_path, database_url, SALON_AUTO_MIGRATE="true")
        with serve(env, tmp_path, wait=False) as server:
            waiting = (
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            for _ in range(600):
                if await holder.fetchval(waiting):
                    break
                assert server.process.poll() is None, server.output()
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"serve never asked for the lock:\n{server.output()}")
            await holder.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
            await asyncio.to_thread(server.wait_until_up)
            assert _schema_check(server.url)[0] == 200
    finally:
        await holder.close()


async def test_ready_fails_while_the_schema_is_behind(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    assert run_salon(env, "db", "upgrade", cwd=tmp_path).returncode == 0
    with serve(env, tmp_path) as server:
        assert _schema_check(server.url)[0] == 200
        down = run_salon(env, "db", "downgrade", "0002", cwd=tmp_path)
        assert down.returncode == 0, down.stderr
        status, checks = _schema_check(server.url)
        assert status == 503
        assert checks["schema"].startswith("at revision 0002, behind")
        assert checks["database"] == checks["storage"] == checks["queue"] == "ok"
        # Liveness stays shallow: the process is up, whatever the schema.
        assert httpx.get(f"{server.url}/health", timeout=30).status_code == 200
        assert run_salon(env, "db", "upgrade", cwd=tmp_path).returncode == 0
        assert _schema_check(server.url)[0] == 200


def test_startup_errors_are_one_line_before_listening(tmp_path: Path) -> None:
    env = _env(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}", SALON_STORAGE="fsspek")
    refused = run_salon(env, "serve", "--port", "1", cwd=tmp_path, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()], "one line expected"
    assert "SALON_STORAGE='fsspek' is not a known storage provider" in refused.stderr
    assert "Traceback" not in refused.stderr and "Listening" not in refused.stdout
