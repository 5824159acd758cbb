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

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from salon.domain.auth.lookalikes import email_skeleton

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None
# Expand only (a nullable column and its index): code at 0018 never reads it. Users that code
# creates meanwhile have none until their next sign-in fills it (user_for_identity).
oldest_compatible = "0018"

BATCH = 1000
_USERS = sa.table(
    "users",
    sa.column("id", advanced_alchemy.types.guid.GUID(length=16)),
    sa.column("email", sa.String()),
    sa.column("email_skeleton", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_skeleton", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_users_email_skeleton", ["email_skeleton"], unique=False)
    _backfill(op.get_bind())


def _backfill(bind: sa.Connection) -> None:
    after = None
    while True:
        query = sa.select(_USERS.c.id, _USERS.c.email).where(_USERS.c.email.is_not(None))
        if after is not None:
            query = query.where(_USERS.c.id > after)
        rows = bind.execute(query.order_by(_USERS.c.id).limit(BATCH)).all()
        if not rows:
            return
        bind.execute(
            sa.update(_USERS)
            .where(_USERS.c.id == sa.bindparam("row_id"))
            .values(email_skeleton=sa.bindparam("skeleton")),
            [{"row_id": row.id, "skeleton": email_skeleton(row.email)} for row in rows],
        )
        after = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_email_skeleton")
        batch_op.drop_column("email_skeleton")
