"""Search in ``GET /api/images``: words (``q``) and a date range (``taken_from``/``taken_to``).

Words are matched against each image's search document (``salon.db.search``: title,
description, file name, camera, source text, album names) through SQLite FTS5 or PostgreSQL
full-text search. The user's text never reaches either query language as syntax: it is cut
into words here (letters and digits; everything else separates, as both indexes split) and
each word goes in as a quoted term, all required, the last one also matching as a prefix (so
results follow typing). Quotes, ``*``, ``NEAR``, ``-`` or ``OR`` are therefore plain text.

Dates apply to when the photo was taken, or uploaded when its date is not known.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, literal, text
from sqlalchemy.sql.selectable import TextualSelect

from salon.db.models import Image

MAX_QUERY = 200
MAX_WORDS = 12
_WORD = re.compile(r"[^\W_]+")
_DATE_FORMS = "YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 time with its offset"


class SearchError(ValueError):
    """A search the client must change (the message says how)."""


@dataclass(frozen=True, slots=True)
class ImageSearch:
    """A parsed search; hashable, so it is part of a cached page's key."""

    words: tuple[str, ...] | None = None  # None: no text search; () matches nothing
    taken_from: dt.datetime | None = None  # inclusive
    taken_until: dt.datetime | None = None  # exclusive


def words_of(q: str) -> tuple[str, ...]:
    """The words of a query, lower-cased and composed (NFC), in order, without repeats."""
    normal = unicodedata.normalize("NFC", q).casefold()
    return tuple(dict.fromkeys(_WORD.findall(normal)))


def parse_search(q: str | None, taken_from: str | None, taken_to: str | None) -> ImageSearch | None:
    """The search the parameters ask for, None when they ask for none. Raises SearchError."""
    words: tuple[str, ...] | None = None
    if q is not None and q.strip():
        if len(q) > MAX_QUERY:
            raise SearchError(f"q is too long: at most {MAX_QUERY} characters")
        words = words_of(q)
        if len(words) > MAX_WORDS:
            raise SearchError(f"q has too many words: at most {MAX_WORDS}")
    start = _bound(taken_from, "taken_from", end=False)
    until = _bound(taken_to, "taken_to", end=True)
    if start is not None and until is not None and start >= until:
        raise SearchError("taken_from must not be after taken_to")
    if words is None and start is None and until is None:
        return None
    return ImageSearch(words=words, taken_from=start, taken_until=until)


def _bound(value: str | None, name: str, *, end: bool) -> dt.datetime | None:
    """A range bound. A date or month is the whole day or month: as ``taken_to`` it ends
    where the next one starts, so ``taken_from=2024-03&taken_to=2024-03`` is March."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        moment = _moment(value, end=end)
    except OverflowError:
        # Python's calendar ends at year 9999; an offset or taken_to's end can cross it.
        raise SearchError(
            f"{name} {value[:40]!r} is out of range: in UTC it must fall within years 1 to"
            " 9999" + (", and end before 9999 does (leave taken_to out for no end)" if end else "")
        ) from None
    except ValueError:
        raise SearchError(f"{name} must be {_DATE_FORMS}, not {value[:40]!r}") from None
    if moment is None:
        raise SearchError(f"{name} must say its offset (Z or +01:00), or be a plain date")
    return moment


def _moment(value: str, *, end: bool) -> dt.datetime | None:
    """The bound ``value`` names (None: a time without offset). ValueError: not a date;
    OverflowError: a date outside the calendar (years 1 to 9999, in UTC)."""
    if value.startswith("0000"):
        raise OverflowError(value)
    if re.fullmatch(r"\d{4}(-\d{2})?", value):
        year, month = int(value[:4]), int(value[5:] or 1)
        if not 1 <= month <= 12:
            raise ValueError(value)
        step = (12 if len(value) == 4 else 1) if end else 0  # taken_to: where the next begins
        return _month_start(year, month + step)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = dt.date.fromisoformat(value)
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        return start + dt.timedelta(days=1) if end else start
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        return None
    utc = in_utc(moment)
    if utc is None:
        raise OverflowError(value)
    # A time as taken_to is the last moment included.
    return utc + dt.timedelta(microseconds=1) if end else utc


def _month_start(year: int, month: int) -> dt.datetime:
    """The first moment of ``month`` (13: January of the next year). OverflowError: past 9999."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    if year > dt.MAXYEAR:
        raise OverflowError(f"year {year}")
    return dt.datetime(year, month, 1, tzinfo=dt.UTC)


def in_utc(moment: dt.datetime) -> dt.datetime | None:
    """``moment`` (with its offset) in UTC; None when that falls outside Python's calendar
    (an offset moves 9999-12-31T23:59-01:00 into year 10000)."""
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        return None


def search_conditions(search: ImageSearch, dialect: str) -> list[ColumnElement[bool]]:
    """The WHERE conditions on ``images`` for ``search`` in ``dialect``."""
    conditions: list[ColumnElement[bool]] = []
    if search.words is not None:
        if not search.words:
            return [false()]  # only punctuation: nothing can match
        conditions.append(Image.id.in_(_matching_ids(search.words, dialect)))
    if search.taken_from is not None or search.taken_until is not None:
        when = func.coalesce(Image.taken_at, Image.created_at)
        if search.taken_from is not None:
            conditions.append(when >= literal(search.taken_from, Image.taken_at.type))
        if search.taken_until is not None:
            conditions.append(when < literal(search.taken_until, Image.taken_at.type))
    return conditions


def _matching_ids(words: tuple[str, ...], dialect: str) -> TextualSelect:
    if dialect == "sqlite":
        terms = [f'"{word}"' for word in words]
        terms[-1] += "*"
        return (
            text(
                "SELECT image_id FROM image_search WHERE id IN "
                "(SELECT rowid FROM image_search_fts WHERE image_search_fts MATCH :search_fts)"
            )
            .bindparams(search_fts=" AND ".join(terms))
            .columns(image_id=Image.id.type)
        )
    if dialect == "postgresql":
        terms = [f"'{word}'" for word in words]
        terms[-1] += ":*"
        return (
            text(
                "SELECT image_id FROM image_search "
                "WHERE tsv @@ to_tsquery('simple'::regconfig, :search_tsquery)"
            )
            .bindparams(search_tsquery=" & ".join(terms))
            .columns(image_id=Image.id.type)
        )
    raise SearchError(f"text search is not available on {dialect}")
