"""Query validation: every bad query fails with a clear message and costs no request."""

from __future__ import annotations

import datetime as dt

import pytest
from salon.errors import SourceQueryError
from salon_nasa_apod import ApodSource, parse_query
from salon_nasa_apod.testing import FAKE_TODAY, FakeApodServer

BAD_QUERIES = [
    ({"date": "1995-06-15"}, "between 1995-06-16"),
    ({"date": "2024-03-11"}, "between 1995-06-16 and 2024-03-10"),
    ({"date": "2024-02-30"}, "YYYY-MM-DD"),
    ({"date": "20240301"}, "YYYY-MM-DD"),
    ({"date": "yesterday"}, "YYYY-MM-DD"),
    ({"start_date": "2024-03-05", "end_date": "2024-03-01"}, "after end_date"),
    ({"start_date": "2023-01-01", "end_date": "2024-03-01"}, "at most 366"),
    ({"start_date": "1990-01-01"}, "between 1995-06-16"),
    ({"end_date": "2024-03-01"}, "end_date needs a start_date"),
    ({"count": "0"}, "between 1 and 100"),
    ({"count": "101"}, "between 1 and 100"),
    ({"count": "ten"}, "whole number"),
    ({"count": "5", "date": "2024-03-01"}, "count cannot be combined with date"),
    ({"count": "5", "start_date": "2024-03-01"}, "count cannot be combined with start_date"),
    ({"date": "2024-03-01", "start_date": "2024-03-01"}, "date cannot be combined"),
    ({"thumbs": "maybe"}, "thumbs must be true or false"),
    ({"api_key": "mine"}, "unknown APOD query parameter(s): api_key"),
]


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES)
async def test_bad_query_is_refused_before_any_request(
    source: ApodSource, fake: FakeApodServer, query: dict[str, str], message: str
) -> None:
    with pytest.raises(SourceQueryError) as info:
        await source.entries(query)
    assert message in str(info.value)
    assert fake.requests == []
    assert source.requests_sent == 0


def test_range_cap_is_a_setting() -> None:
    query = {"start_date": "2024-01-01", "end_date": "2024-01-10"}
    with pytest.raises(SourceQueryError, match="10 days; at most 7"):
        parse_query(query, today=FAKE_TODAY, default_thumbs=False, max_range_days=7)
    parsed = parse_query(query, today=FAKE_TODAY, default_thumbs=False, max_range_days=10)
    assert (parsed.start, parsed.end) == (dt.date(2024, 1, 1), dt.date(2024, 1, 10))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, (FAKE_TODAY, FAKE_TODAY, None, True)),
        ({"date": "today"}, (FAKE_TODAY, FAKE_TODAY, None, True)),
        ({"date": "TODAY", "start_date": ""}, (FAKE_TODAY, FAKE_TODAY, None, True)),
        ({"date": "1995-06-16"}, (dt.date(1995, 6, 16), dt.date(1995, 6, 16), None, False)),
        ({"start_date": "2024-03-08"}, (dt.date(2024, 3, 8), FAKE_TODAY, None, False)),
        ({"count": "100"}, (None, None, 100, False)),
    ],
)
def test_good_queries_parse(query: dict[str, str], expected: tuple[object, ...]) -> None:
    parsed = parse_query(query, today=FAKE_TODAY, default_thumbs=False, max_range_days=366)
    assert (parsed.start, parsed.end, parsed.count, parsed.today_requested) == expected


def test_thumbs_defaults_to_the_setting_and_the_query_overrides_it() -> None:
    assert parse_query({}, today=FAKE_TODAY, default_thumbs=True, max_range_days=1).thumbs
    off = parse_query({"thumbs": "false"}, today=FAKE_TODAY, default_thumbs=True, max_range_days=1)
    assert not off.thumbs
