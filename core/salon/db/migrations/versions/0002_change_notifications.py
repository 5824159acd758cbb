"""change notifications: PostgreSQL statement triggers that NOTIFY salon_changes

Every write to a Salon table, from any process (web tasks, the worker, the CLI, psql), tells
the web processes which table changed, so their read caches drop what it touched
(``salon.db.changes``). Statement-level: one notification per statement, and PostgreSQL folds
identical ones within a transaction and delivers them at commit. SQLite needs nothing here:
its WAL index header already changes on every commit.

A table added by a later migration must get the trigger too (``add_trigger``);
``tests/integration/test_change_notifications.py`` fails for a table without one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
# Triggers only: code at 0001 runs on this schema unchanged.
oldest_compatible = "0001"

TABLES = (
    "users", "local_accounts", "refresh_tokens", "images", "albums", "album_images",
    "share_links", "upload_intents", "jobs", "queue_messages", "videos", "source_imports",
)  # fmt: skip

FUNCTION = """
CREATE OR REPLACE FUNCTION salon_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('salon_changes', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def add_trigger(table: str) -> None:
    op.execute(
        f"CREATE TRIGGER salon_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION salon_notify_change()"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table in TABLES:
        add_trigger(table)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS salon_notify_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS salon_notify_change()")
