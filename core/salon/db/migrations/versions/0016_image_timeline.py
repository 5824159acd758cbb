"""image timeline: an index for listing by date taken (upload time when unknown)

``GET /api/images?order=taken`` pages by keyset on ``(coalesce(taken_at, created_at), id)``
for one owner; ``ix_images_owner_taken`` is that expression index on both databases, so a
page is an index range scan whatever the library's size. Created without rewriting the table
(on SQLite a batch rebuild would drop the search and change-log triggers).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None
# Expand only (an index): code at 0015 runs on it unchanged.
oldest_compatible = "0015"


def upgrade() -> None:
    op.create_index(
        "ix_images_owner_taken",
        "images",
        ["owner_id", sa.text("coalesce(taken_at, created_at)"), "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_images_owner_taken", table_name="images")
