"""rate counters: the account routes' rate-limit windows, shared by every server (PostgreSQL)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None
# Expand only (a new table): code at 0012 runs on it.
oldest_compatible = "0012"

TABLE = "rate_counters"


def upgrade() -> None:
    # No salon_notify_change trigger, unlike every other table: each login attempt writes
    # here and no read cache depends on it (models.RateCounter).
    op.create_table(
        TABLE,
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counters")),
    )
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rate_counters_expires_at"), ["expires_at"])


def downgrade() -> None:
    op.drop_table(TABLE)
