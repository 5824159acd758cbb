"""Expand/contract: the installed release plays "release N-1" against a schema a newer release
made (this test's own extra migrations, applied in-process). An expand step that declares the
older code compatible leaves it serving and its ``salon db upgrade`` a no-op; a contract step
stops it: /ready fails, ``salon db upgrade`` exits 3 (release.sh's cue to refuse the rollback)
and ``salon serve`` refuses to start, each in one line."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
from salon.db import migrate
from salon.db.schema import oldest_compatible
from startup_support import run_salon, serve

MIGRATION = '''"""{message}"""
import sqlalchemy as sa
from alembic import op

revision = "{revision}"
down_revision = "{down}"
branch_labels = None
depends_on = None
oldest_compatible = "{oldest}"


def upgrade() -> None:
    {upgrade}


def downgrade() -> None:
    {downgrade}
'''


def _newer_release(folder: Path, head: str) -> list[Path]:
    """Two migrations past ``head``: 9001 adds a table (expand, compatible with ``head``), 9002
    drops a column every release so far reads (contract: compatible only with itself)."""
    folder.mkdir()
    (folder / "9001_future_expand.py").write_text(
        MIGRATION.format(
            message="a newer release adds a table",
            revision="9001",
            down=head,
            oldest=head,
            upgrade='op.create_table("future", sa.Column("id", sa.Integer, primary_key=True))',
            downgrade='op.drop_table("future")',
        )
    )
    (folder / "9002_future_contract.py").write_text(
        MIGRATION.format(
            message="a newer release drops what older code reads",
            revision="9002",
            down="9001",
            oldest="9002",
            upgrade='op.rename_table("future", "future_v2")',
            downgrade='op.rename_table("future_v2", "future")',
        )
    )
    return [folder]


def _ready(url: str) -> tuple[int, str]:
    response = httpx.get(f"{url}/ready", timeout=30)
    return response.status_code, response.json()["checks"]["schema"]


async def test_older_code_on_a_newer_schema(tmp_path: Path, database_url: str) -> None:
    env = {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_DATABASE_URL": database_url,
        "SALON_SECRET_KEY": secrets.token_urlsafe(32),
    }
    assert run_salon(env, "db", "upgrade", cwd=tmp_path).returncode == 0
    head = migrate.state(database_url).head
    newer = _newer_release(tmp_path / "newer", head)

    migrate.upgrade(database_url, "9001", extra_versions=newer)
    noop = run_salon(env, "db", "upgrade", cwd=tmp_path)
    assert noop.returncode == 0, noop.stderr
    assert f"at revision 9001, newer than this release's {head}" in noop.stdout
    assert "nothing to do" in noop.stdout
    with serve(env, tmp_path) as server:
        assert _ready(server.url) == (200, "ok")

        migrate.upgrade(database_url, "9002", extra_versions=newer)
        status, schema = _ready(server.url)
        assert status == 503 and "not compatible" in schema

        refused = run_salon(env, "db", "upgrade", cwd=tmp_path)
        assert refused.returncode == 3
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "9002" in refused.stderr and "cannot run on it" in refused.stderr
        assert "Can't locate revision" not in refused.stderr + refused.stdout

        again = run_salon(env, "serve", "--port", "1", cwd=tmp_path, timeout=60)
        assert again.returncode == 2 and len(again.stderr.strip().splitlines()) == 1
        assert "not compatible" in again.stderr and "Traceback" not in again.stderr

        # The newer release steps back to its expand step: the older code may serve again.
        migrate.downgrade(database_url, "9001", extra_versions=newer)
        assert _ready(server.url) == (200, "ok")


def test_the_floor_is_the_newest_declaration() -> None:
    script = migrate.scripts()
    assert oldest_compatible(script, "0001") == "0001"
    assert oldest_compatible(script, "0002") == "0001"
    assert oldest_compatible(script, "0003") == "0002"
    assert oldest_compatible(script, "0004") == "0003"
    assert oldest_compatible(script, "0005") == "0004"
