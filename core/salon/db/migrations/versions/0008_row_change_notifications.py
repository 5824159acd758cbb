"""row change notifications: images, albums and album_images tell whose rows changed

PostgreSQL row triggers ``pg_notify`` ``table:scope`` on channel ``salon_row_changes`` (the
owner for images and albums, the album for album_images; for an UPDATE the scope before and
after), so the web processes drop only that owner's cached pages (``salon.db.changes``).
PostgreSQL folds identical notifications within a transaction, so a bulk write for one owner
sends one. A TRUNCATE sends the bare table name. The statement trigger from 0002 stays: code
at 0007 still listens only to it, and code from here on ignores it for these three tables once
it sees the row trigger. SQLite needs nothing here.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# Triggers only: code at 0007 runs on this schema unchanged.
oldest_compatible = "0007"

SCOPED = {"images": "owner_id", "albums": "owner_id", "album_images": "album_id"}

FUNCTION = """
CREATE OR REPLACE FUNCTION salon_notify_row_change() RETURNS trigger AS $$
DECLARE
    old_scope text;
    new_scope text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('salon_row_changes', TG_TABLE_NAME);
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'album_images' THEN
        IF TG_OP <> 'INSERT' THEN old_scope := OLD.album_id::text; END IF;
        IF TG_OP <> 'DELETE' THEN new_scope := NEW.album_id::text; END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN old_scope := OLD.owner_id::text; END IF;
        IF TG_OP <> 'DELETE' THEN new_scope := NEW.owner_id::text; END IF;
    END IF;
    IF old_scope IS NOT NULL THEN
        PERFORM pg_notify('salon_row_changes', TG_TABLE_NAME || ':' || old_scope);
    END IF;
    IF new_scope IS NOT NULL AND new_scope IS DISTINCT FROM old_scope THEN
        PERFORM pg_notify('salon_row_changes', TG_TABLE_NAME || ':' || new_scope);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for table in SCOPED:
        op.execute(
            f"CREATE TRIGGER salon_notify_row_change AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION salon_notify_row_change()"
        )
        op.execute(
            f"CREATE TRIGGER salon_notify_row_truncate AFTER TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION salon_notify_row_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in SCOPED:
        op.execute(f"DROP TRIGGER IF EXISTS salon_notify_row_change ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS salon_notify_row_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS salon_notify_row_change()")
