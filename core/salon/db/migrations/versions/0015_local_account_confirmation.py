"""local account confirmation: a pending sign-up's code hash and expiry (SALON_SIGNUP_CONFIRM)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None
# Expand only (two nullable columns; NULL is a confirmed account): code at 0014 runs on it.
oldest_compatible = "0014"

TABLE = "local_accounts"


def upgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmation_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "confirmation_expires_at",
                advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table(TABLE, schema=None) as batch_op:
        batch_op.drop_column("confirmation_expires_at")
        batch_op.drop_column("confirmation_hash")
