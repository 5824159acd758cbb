"""image trash: deleting an image moves it to the trash

``images.trashed_at`` is set when the owner deletes an image; listings, albums, favorites and
share links skip such rows, and a worker purges them ``SALON_TRASH_DAYS`` later. Existing
images are not in the trash (NULL). ``ix_images_trashed`` serves the purge.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
# Expand only (a nullable column and an index): code at 0008 never writes it and reads every
# row as it did; it would still list an image trashed by newer code, which it cannot know.
oldest_compatible = "0008"


def upgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trashed_at", DateTimeUTC(timezone=True), nullable=True))
        batch_op.create_index("ix_images_trashed", ["trashed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_index("ix_images_trashed")
        batch_op.drop_column("trashed_at")
