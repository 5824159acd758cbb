"""queue message lanes: short jobs no longer wait behind long ones on the local queue

``queue_messages.lane`` is ``short`` or ``long`` (a video): the worker's short slots receive
from the short lane only, so an import runs while every long slot renders. Messages queued
before this migration are short: such a video runs once in a short slot.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None
# Expand only (a column with a default, an index): code at 0019 inserts messages without a
# lane (they are short) and receives from every lane, as before.
oldest_compatible = "0019"


def upgrade() -> None:
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lane", sa.String(length=8), server_default="short", nullable=False)
        )
        batch_op.create_index("ix_queue_messages_lane_turn", ["lane", "turn"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_messages_lane_turn")
        batch_op.drop_column("lane")
