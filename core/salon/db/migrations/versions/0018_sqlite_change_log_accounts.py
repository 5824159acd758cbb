"""SQLite change log: users and refresh_tokens say that they changed

On SQLite a web process learns of other processes' commits from the WAL index header, which
moves on every commit (its own too): 0011's log names whose gallery rows changed, but every
other table counted as changed on any commit, so each favorite anywhere dropped every cached
access token and user, and every signed-in client's next request checked its token and read
its user again (issue 19.1: listing while another user writes). Row triggers on ``users`` and
``refresh_tokens`` now append the table's name (no scope) to ``salon_change_log``: those two
count as changed only when the log names them. PostgreSQL needs nothing (statement triggers,
0002).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None
# Triggers only: code at 0017 never reads these rows, and a reader that does not find all the
# triggers it expects drops everything (salon.db.sqlite_changes).
oldest_compatible = "0017"

TABLES = ("users", "refresh_tokens")
LOG = "salon_change_log"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        for kind in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER salon_log_{table}_{kind} AFTER {kind.upper()} ON {table} BEGIN "
                f"INSERT INTO {LOG} (tbl, scope) VALUES ('{table}', NULL); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        for kind in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS salon_log_{table}_{kind}")
