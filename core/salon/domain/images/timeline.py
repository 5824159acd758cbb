"""The timeline's months (``GET /api/images/months``): how many photos each month holds, by
date taken (uploaded when unknown), in UTC as the search's months are, newest first, each
with the ``order=taken`` cursor whose page starts at that month, so a client can show a
month list or scrubber and jump without loading what lies between."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, literal_column
from sqlalchemy.ext.asyncio import AsyncSession

from salon.domain.images.cursor import month_cursor
from salon.domain.images.schemas import MonthOut, MonthsOut
from salon.domain.images.services import Shown, filtered_query, taken_key


def month_of(dialect: str) -> ColumnElement[str]:
    """``YYYY-MM`` of the timeline key in UTC. SQLite stores times as UTC text
    ("2024-03-05 23:02:03.000000"), so its month is the first seven characters."""
    # Constants as SQL text, not parameters: PostgreSQL matches the SELECT's expression with
    # the GROUP BY's only when both are the same text, and $1 is not $3.
    key = taken_key()
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), key)
        return func.to_char(utc, literal_column("'YYYY-MM'"))
    return func.substr(key, literal_column("1"), literal_column("7"))


async def month_counts(session: AsyncSession, shown: Shown) -> MonthsOut:
    """Per-month counts of the images ``shown`` lists, newest month first."""
    dialect = session.get_bind().dialect.name
    month = month_of(dialect).label("month")
    query = (
        filtered_query(shown, dialect)
        .with_only_columns(month, func.count())
        .group_by(month)
        .order_by(month.desc())
    )
    rows = (await session.execute(query)).all()
    months = [MonthOut(m, n, month_cursor(int(m[:4]), int(m[5:7]))) for m, n in rows]
    return MonthsOut(months, sum(item.count for item in months))
