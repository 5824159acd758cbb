"""Validation of an APOD query, done before any request so bad input costs no quota.

Accepted keys (all strings, as they arrive from a URL query or the CLI; empty values count as
absent):

- ``date``: ``YYYY-MM-DD`` or ``today``;
- ``start_date`` with an optional ``end_date`` (default today), a range of at most
  ``max_range_days`` days (366 by default);
- ``count``: 1-100 random entries; not combined with any date;
- ``thumbs``: ``true``/``false``, whether a video's thumbnail is imported as its image.

No key at all means ``date=today``, as with the API itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from salon.errors import SourceQueryError

FIRST_DATE = dt.date(1995, 6, 16)
"""The first APOD; the API refuses anything earlier."""
MAX_COUNT = 100
ALLOWED_KEYS = frozenset({"date", "start_date", "end_date", "count", "thumbs"})
_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


@dataclass(frozen=True, slots=True)
class ApodQuery:
    """A validated query: exactly one of a single date, a date range, or a count."""

    start: dt.date | None = None
    end: dt.date | None = None
    count: int | None = None
    thumbs: bool = False
    today_requested: bool = False
    """The caller asked for "today" (not a date): fall back to yesterday when unpublished."""


def parse_query(
    query: Mapping[str, str], *, today: dt.date, default_thumbs: bool, max_range_days: int
) -> ApodQuery:
    """Check ``query`` and return it parsed; :class:`SourceQueryError` says what is wrong."""
    values = {key: str(value).strip() for key, value in query.items() if str(value).strip()}
    unknown = sorted(set(values) - ALLOWED_KEYS)
    if unknown:
        raise SourceQueryError(
            f"unknown APOD query parameter(s): {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(ALLOWED_KEYS))}"
        )
    thumbs = _parse_bool(values.get("thumbs"), default_thumbs)
    dates = [key for key in ("date", "start_date", "end_date") if key in values]
    if "count" in values:
        if dates:
            raise SourceQueryError(
                f"count cannot be combined with {', '.join(dates)}: "
                "ask for random entries or for dates, not both"
            )
        return ApodQuery(count=_parse_count(values["count"]), thumbs=thumbs)
    if "date" in values:
        if "start_date" in values or "end_date" in values:
            raise SourceQueryError("date cannot be combined with start_date/end_date")
        if values["date"].lower() == "today":
            return ApodQuery(start=today, end=today, thumbs=thumbs, today_requested=True)
        day = _parse_date("date", values["date"], today)
        return ApodQuery(start=day, end=day, thumbs=thumbs)
    if "end_date" in values and "start_date" not in values:
        raise SourceQueryError("end_date needs a start_date")
    if "start_date" not in values:
        return ApodQuery(start=today, end=today, thumbs=thumbs, today_requested=True)
    start = _parse_date("start_date", values["start_date"], today)
    end = _parse_date("end_date", values["end_date"], today) if "end_date" in values else today
    if start > end:
        raise SourceQueryError(f"start_date {start} is after end_date {end}")
    days = (end - start).days + 1
    if days > max_range_days:
        raise SourceQueryError(
            f"the range {start}..{end} has {days} days; at most {max_range_days} per query"
        )
    return ApodQuery(start=start, end=end, thumbs=thumbs)


def _parse_date(key: str, text: str, today: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise SourceQueryError(f"{key} must be a date as YYYY-MM-DD, not {text[:40]!r}") from None
    if len(text) != 10:  # fromisoformat also takes "20240101"; the API does not
        raise SourceQueryError(f"{key} must be a date as YYYY-MM-DD, not {text[:40]!r}")
    if not FIRST_DATE <= day <= today:
        raise SourceQueryError(f"{key} must be between {FIRST_DATE} and {today} (today), not {day}")
    return day


def _parse_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        raise SourceQueryError(f"count must be a whole number, not {text[:40]!r}") from None
    if not 1 <= count <= MAX_COUNT:
        raise SourceQueryError(f"count must be between 1 and {MAX_COUNT}, not {count}")
    return count


def _parse_bool(text: str | None, default: bool) -> bool:
    if text is None:
        return default
    try:
        return _BOOLEANS[text.lower()]
    except KeyError:
        raise SourceQueryError(f"thumbs must be true or false, not {text[:40]!r}") from None
