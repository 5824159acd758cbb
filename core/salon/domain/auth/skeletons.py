"""``users.email_skeleton`` (re)computed for every user with an address, in batches: the key
needs Unicode's confusables table (:mod:`salon.domain.auth.lookalikes`), so it is computed in
Python. Migration 0019 fills the new column with it, 0021 recomputes it after the key changed."""

from __future__ import annotations

import advanced_alchemy.types
import sqlalchemy as sa

from salon.domain.auth.lookalikes import email_skeleton

BATCH = 1000
_USERS = sa.table(
    "users",
    sa.column("id", advanced_alchemy.types.guid.GUID(length=16)),
    sa.column("email", sa.String()),
    sa.column("email_skeleton", sa.String()),
)


def fill_email_skeletons(bind: sa.Connection) -> None:
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
