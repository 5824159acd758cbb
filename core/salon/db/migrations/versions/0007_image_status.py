"""image status: uploads answer before their renditions exist

``images.status`` is ``processing`` from intake until the renditions are stored, then
``ready`` (or ``failed``, with ``images.error`` saying why). Existing images all have their
renditions: they are ``ready``. ``ix_images_status`` serves the worker's sweep for images a
crash left in ``processing``. The table already has its change-notification trigger (0002).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# Expand only (two columns, the status with a server default of "ready", and an index): code
# at 0006 makes renditions in the request, and its rows are read as "ready", which they are.
oldest_compatible = "0006"


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="ready", nullable=False)
        )
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.create_index("ix_images_status", ["status", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index("ix_images_status")
        batch_op.drop_column("error")
        batch_op.drop_column("status")
