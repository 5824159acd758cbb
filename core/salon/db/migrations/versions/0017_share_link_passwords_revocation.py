"""share links: a password for photo links, and revocation kept as a state

``share_links.password_hash`` (argon2, as album links have); ``revoked_at`` on both link tables:
a revoked link's row stays so its address answers 410 Gone instead of 404.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None
# Expand only (nullable columns), and code at 0016 stays safe on it: a revoked link's expiry is
# moved to its revocation time, so older code refuses it as expired, and a photo link with a
# password is stored under a hash older code never looks up (it answers 404, never shows the
# photo without asking).
oldest_compatible = "0016"

DATETIME = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    # In place (ADD COLUMN), never a batch copy: on SQLite a copy would drop the tables'
    # change-log triggers.
    op.add_column("share_links", sa.Column("password_hash", sa.String(length=200), nullable=True))
    op.add_column("share_links", sa.Column("revoked_at", DATETIME, nullable=True))
    op.add_column("album_share_links", sa.Column("revoked_at", DATETIME, nullable=True))


def downgrade() -> None:
    # Revoked links were kept as rows (older code deletes them on revocation), and a photo
    # link's password cannot be kept: drop both rather than leave links older code misreads.
    op.execute(sa.text("DELETE FROM share_links WHERE revoked_at IS NOT NULL"))
    op.execute(sa.text("DELETE FROM share_links WHERE password_hash IS NOT NULL"))
    op.execute(sa.text("DELETE FROM album_share_links WHERE revoked_at IS NOT NULL"))
    op.drop_column("album_share_links", "revoked_at")
    op.drop_column("share_links", "revoked_at")
    op.drop_column("share_links", "password_hash")
