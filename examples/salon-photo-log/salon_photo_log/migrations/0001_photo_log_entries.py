"""photo log entries: one row per image the plugin logged.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "photo_log_entries",
        sa.Column("image_id", sa.String(36), primary_key=True),
        sa.Column("owner_id", sa.String(36), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_photo_log_entries_owner_id", "photo_log_entries", ["owner_id"])


def downgrade() -> None:
    op.drop_index("ix_photo_log_entries_owner_id", table_name="photo_log_entries")
    op.drop_table("photo_log_entries")
