"""salon.domain.images.page_items: the listing's items made straight from driver rows write
every field of ``ImageOut`` in its order, read the page statement's columns in theirs, and
write SQLite's stored times as msgspec writes the ``datetime`` SQLAlchemy makes of them.
(The whole page against the route's, byte for byte: tests/integration/test_listing_driver_path.)"""

from __future__ import annotations

import datetime as dt

import msgspec
from advanced_alchemy.types import DateTimeUTC
from salon.domain.images.page_items import COLUMNS, WRITTEN, sqlite_time
from salon.domain.images.schemas import ImageOut
from salon.domain.images.services import PAGE_COLUMNS
from sqlalchemy.dialects import sqlite


def test_every_field_of_image_out_is_written_in_its_order() -> None:
    # A field added to ImageOut must be added to page_items' item too (else the fast page
    # would lack it): this fails until it is.
    assert tuple(field.name for field in msgspec.structs.fields(ImageOut)) == WRITTEN


def test_the_columns_read_are_the_page_statements() -> None:
    assert tuple(str(column.key) for column in PAGE_COLUMNS) == COLUMNS


def test_sqlite_times_are_written_as_their_datetimes_are() -> None:
    kind = DateTimeUTC()
    dialect = sqlite.dialect()
    store = kind._cached_bind_processor(dialect)
    load = kind._cached_result_processor(dialect, None)
    assert store is not None and load is not None
    text = sqlite_time(load)
    moments = [dt.datetime(2026, 12, 7, 12, 38, 5, us, tzinfo=dt.UTC) for us in (0, 1, 500000)]
    moments += [
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
    ]
    moments.append(dt.datetime(2001, 2, 3, 4, 5, 6, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    for moment in moments:
        stored = store(moment)
        assert isinstance(stored, str) and len(stored) == 26, stored
        assert msgspec.json.encode(text(stored)) == msgspec.json.encode(load(stored)), stored
    # Any other stored form (written by hand, by another tool) goes through the column's own.
    for stored in ("2026-12-07 12:38:05", "2026-12-07T12:38:05.000001", "2026-12-07 12:38:05.1"):
        assert text(stored) == load(stored), stored
    assert text(None) is None
