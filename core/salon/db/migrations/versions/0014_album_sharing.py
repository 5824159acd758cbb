"""album sharing: links to an album (optional password), members who may view it, a cover

``album_share_links`` holds expiring links to an album (token hash, argon2 password hash when
set); ``album_members`` the other users an album is shared with, read-only;
``albums.cover_image_id`` the photo the owner chose to show for the album.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None
# Expand only (new tables, a nullable column): code at 0013 runs on it.
oldest_compatible = "0013"

GUID = advanced_alchemy.types.guid.GUID(length=16)
DATETIME = advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def _audit_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DATETIME, nullable=False),
        sa.Column("updated_at", DATETIME, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "album_share_links",
        sa.Column("id", GUID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("album_id", GUID, nullable=False),
        sa.Column("owner_id", GUID, nullable=False),
        sa.Column("expires_at", DATETIME, nullable=False),
        sa.Column("shows", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        *_audit_columns(),
        sa.ForeignKeyConstraint(
            ["album_id"],
            ["albums.id"],
            name=op.f("fk_album_share_links_album_id_albums"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_album_share_links_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_album_share_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_album_share_links_token_hash")),
    )
    with op.batch_alter_table("album_share_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_album_share_links_album_id"), ["album_id"])
        batch_op.create_index(batch_op.f("ix_album_share_links_owner_id"), ["owner_id"])
    op.create_table(
        "album_members",
        sa.Column("album_id", GUID, nullable=False),
        sa.Column("user_id", GUID, nullable=False),
        sa.Column("added_at", DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["album_id"],
            ["albums.id"],
            name=op.f("fk_album_members_album_id_albums"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_album_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("album_id", "user_id", name=op.f("pk_album_members")),
    )
    with op.batch_alter_table("album_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_album_members_user_id"), ["user_id"])
    # In place, without a foreign key (see the model): a batch copy of ``albums`` on SQLite
    # would drop the triggers 0011 and 0012 put on it.
    op.add_column("albums", sa.Column("cover_image_id", GUID, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # The change notifications of 0002: every table has the trigger.
        for table in ("album_share_links", "album_members"):
            op.execute(
                f"CREATE TRIGGER salon_notify_change AFTER INSERT OR UPDATE OR DELETE OR "
                f"TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION salon_notify_change()"
            )


def downgrade() -> None:
    # DROP COLUMN in place (SQLite 3.35+): no table copy, the triggers stay.
    op.drop_column("albums", "cover_image_id")
    op.drop_table("album_members")
    op.drop_table("album_share_links")
