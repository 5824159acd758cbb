"""The plugin's own table, ``photo_log_entries``, and the two queries on it.

The table is made by the plugin's migrations (``migrations/``, branch ``photo_log``), run by
``salon db upgrade``; this module only describes it for SQLAlchemy Core queries. Ids are
kept as text: the same on SQLite and PostgreSQL, and no foreign key into the core's tables,
whose shape is the core's business.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from salon import SalonContext

metadata = sa.MetaData()


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """A UTC time that reads back aware on both databases: SQLite keeps no offset, so
    ``sa.DateTime(timezone=True)`` alone reads a naive time there (PostgreSQL keeps it)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=dt.UTC)


entries = sa.Table(
    "photo_log_entries",
    metadata,
    sa.Column("image_id", sa.String(36), primary_key=True),
    sa.Column("owner_id", sa.String(36), nullable=False, index=True),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("logged_at", UtcDateTime(), nullable=False),
)


async def record(salon: SalonContext, image: dict[str, Any]) -> bool:
    """Log ``image`` once; False when it was logged already (jobs run at least once)."""
    async with salon.transaction() as conn:
        seen = await conn.scalar(
            sa.select(sa.func.count()).where(entries.c.image_id == image["id"])
        )
        if seen:
            return False
        await conn.execute(
            entries.insert().values(
                image_id=image["id"],
                owner_id=image["owner_id"],
                title=image["title"],
                width=image["width"],
                height=image["height"],
                size=image["size"],
                logged_at=dt.datetime.now(dt.UTC),
            )
        )
    return True


async def newest(salon: SalonContext, owner_id: str, limit: int) -> list[dict[str, Any]]:
    """The owner's entries, newest first."""
    query = (
        sa.select(entries)
        .where(entries.c.owner_id == owner_id)
        .order_by(entries.c.logged_at.desc(), entries.c.image_id)
        .limit(limit)
    )
    async with salon.connect() as conn:
        rows = (await conn.execute(query)).all()
    names = [str(column.name) for column in entries.columns]  # plain str: msgspec wants it
    return [dict(zip(names, row, strict=True)) for row in rows]


async def count(salon: SalonContext) -> int:
    async with salon.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(entries)) or 0)
