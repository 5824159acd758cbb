"""SQLite change log: images, albums and album_images say whose rows changed

SQLite has no NOTIFY, and its WAL index header (``salon.db.changes``) tells only *that* a
commit happened, so every web process dropped every user's cached pages on any write, its own
included. Row triggers now append ``(table, scope)`` to ``salon_change_log`` (the owner for
images and albums, the album for album_images; for an UPDATE the scope before and after), and a
process that sees the WAL header move reads the new log rows to drop only those scopes' pages.
A trigger on the log prunes it every 1,000 rows to the last 5,000; a reader further behind sees
a gap and drops everything, as before. PostgreSQL needs nothing here (row triggers, 0008).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None
# A table and triggers only: code at 0010 never reads the log, and its writes feed it.
oldest_compatible = "0010"

SCOPED = {"images": "owner_id", "albums": "owner_id", "album_images": "album_id"}
LOG = "salon_change_log"
KEEP, EVERY = 5000, 1000


def _triggers(table: str, column: str) -> list[str]:
    insert = f"INSERT INTO {LOG} (tbl, scope)"
    return [
        f"CREATE TRIGGER salon_log_{table}_insert AFTER INSERT ON {table} BEGIN "
        f"{insert} VALUES ('{table}', NEW.{column}); END",
        f"CREATE TRIGGER salon_log_{table}_update AFTER UPDATE ON {table} BEGIN "
        f"{insert} VALUES ('{table}', OLD.{column}); "
        f"{insert} SELECT '{table}', NEW.{column} WHERE NEW.{column} IS NOT OLD.{column}; END",
        f"CREATE TRIGGER salon_log_{table}_delete AFTER DELETE ON {table} BEGIN "
        f"{insert} VALUES ('{table}', OLD.{column}); END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE TABLE {LOG} (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, scope BLOB)"
    )
    op.execute(
        f"CREATE TRIGGER salon_log_prune AFTER INSERT ON {LOG} WHEN NEW.seq % {EVERY} = 0 "
        f"BEGIN DELETE FROM {LOG} WHERE seq <= NEW.seq - {KEEP}; END"
    )
    for table, column in SCOPED.items():
        for statement in _triggers(table, column):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in SCOPED:
        for kind in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS salon_log_{table}_{kind}")
    op.execute("DROP TRIGGER IF EXISTS salon_log_prune")
    op.execute(f"DROP TABLE IF EXISTS {LOG}")
