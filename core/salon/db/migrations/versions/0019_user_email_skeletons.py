"""user e-mail skeletons: a new address that looks like an account's is refused

``users.email_skeleton`` is the sha256 of the UTS #39 skeleton of the user's address
(``salon.domain.auth.lookalikes``), indexed: sign-up and the other ways an account gets an
address look for an account whose address looks like the new one in one indexed lookup.
Existing users get theirs here, computed in Python (the skeleton needs Unicode's confusables
table) in batches.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from salon.domain.auth.skeletons import fill_email_skeletons

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None
# Expand only (a nullable column and its index): code at 0018 never reads it. Users that code
# creates meanwhile have none until their next sign-in fills it (user_for_identity).
oldest_compatible = "0018"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_skeleton", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_users_email_skeleton", ["email_skeleton"], unique=False)
    fill_email_skeletons(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_email_skeleton")
        batch_op.drop_column("email_skeleton")
