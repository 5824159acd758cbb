"""schema compatibility: record the oldest code revision that runs on the schema

``schema_compat`` holds one row, (schema revision, oldest compatible code revision), written
after every upgrade from the ``oldest_compatible`` each migration declares. Older code reads it
to learn whether it may run on a schema newer than its own migrations (``salon.db.schema``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
# Expand only (a new table): code at 0004 runs on this schema unchanged.
oldest_compatible = "0004"


def upgrade() -> None:
    op.create_table(
        "schema_compat",
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("oldest_code", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_schema_compat")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Every table carries the change trigger (see 0002).
        op.execute(
            "CREATE TRIGGER salon_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            "ON schema_compat FOR EACH STATEMENT EXECUTE FUNCTION salon_notify_change()"
        )


def downgrade() -> None:
    op.drop_table("schema_compat")
