"""queue message groups: the local queue takes turns between job owners

``queue_messages.group_key`` holds the owner of a message's job and ``turn`` the message's place
in the owners' rotation, so one user's long videos no longer delay everyone else's jobs.
Messages queued before this migration have no group and turn 0: they go first, oldest first.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# Expand only (a nullable column, one with a default, an index): code at 0002 runs on it.
oldest_compatible = "0002"


def upgrade() -> None:
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("turn", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_queue_messages_group_turn", ["group_key", "turn"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("queue_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_messages_group_turn")
        batch_op.drop_column("turn")
        batch_op.drop_column("group_key")
