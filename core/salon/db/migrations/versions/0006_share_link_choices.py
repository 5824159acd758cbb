"""share link choices: what a link shows besides the picture, and listing links by owner

``share_links.shows`` lists what the owner chose to reveal (title, capture time, file details);
links made before this migration show the picture only. The owner index serves
``GET /api/shares``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
# Expand only (a nullable column, an index): code at 0005 runs on it.
oldest_compatible = "0005"


def upgrade() -> None:
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shows", advanced_alchemy.types.JsonB, nullable=True))
        batch_op.create_index(batch_op.f("ix_share_links_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("share_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_links_owner_id"))
        batch_op.drop_column("shows")
