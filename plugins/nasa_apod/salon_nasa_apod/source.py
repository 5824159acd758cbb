"""The APOD :class:`~salon.providers.ImageSource`: browse by date, range or count; download."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio
from salon.errors import SourceError
from salon.providers import ProviderContext, SourceEntry

from salon_nasa_apod.cache import ApodCache, Record
from salon_nasa_apod.client import ApodClient, ApodNoData, Sleep
from salon_nasa_apod.query import ApodQuery, parse_query
from salon_nasa_apod.settings import ApodSettings

log = logging.getLogger("salon_nasa_apod")

CACHE_FOLDER = "apod-cache"
PAGE_URL = "https://apod.nasa.gov/apod/ap{:%y%m%d}.html"
DEFAULT_MAX_DOWNLOAD = 200 * 1024 * 1024
ONE_DAY = dt.timedelta(days=1)

try:
    _EASTERN: dt.tzinfo = ZoneInfo("America/New_York")
except ZoneInfoNotFoundError:  # no tz database on this host: standard time is close enough
    _EASTERN = dt.timezone(dt.timedelta(hours=-5))


def apod_today() -> dt.date:
    """Today as the API sees it: APOD is published on US Eastern time."""
    return dt.datetime.now(_EASTERN).date()


class ApodSource:
    """NASA's Astronomy Picture of the Day as an image source named ``apod``.

    ``entries`` validates the query (see :mod:`salon_nasa_apod.query`), answers from the cache
    what it can and asks the API for the rest in one request. The API is always asked with
    ``thumbs=true``, so a cached video keeps its thumbnail whatever a later query wants; the
    query's ``thumbs`` only decides whether that thumbnail becomes the entry's ``image_url``.
    """

    name = "apod"
    title = "APOD"

    def __init__(
        self,
        settings: ApodSettings,
        cache_dir: Path,
        *,
        max_download_bytes: int = DEFAULT_MAX_DOWNLOAD,
        today: Callable[[], dt.date] = apod_today,
        sleep: Sleep = anyio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.cache = ApodCache(cache_dir, today_ttl=settings.cache_ttl, clock=clock)
        self.max_download_bytes = settings.max_download_bytes or max_download_bytes
        self._today = today
        self._client = ApodClient(settings, sleep=sleep)

    @classmethod
    def from_context(cls, ctx: ProviderContext) -> ApodSource:
        """The factory the plugin registers: settings from ``SALON_APOD_*``, cache in data_dir."""
        settings = ctx.settings if isinstance(ctx.settings, ApodSettings) else ApodSettings()
        core_limit = getattr(ctx.core, "max_upload_bytes", None) or DEFAULT_MAX_DOWNLOAD
        return cls(settings, Path(ctx.data_dir) / CACHE_FOLDER, max_download_bytes=core_limit)

    def __repr__(self) -> str:
        return f"ApodSource(base_url={self.settings.base_url!r})"

    @property
    def last_rate_limit_remaining(self) -> int | None:
        """``X-RateLimit-Remaining`` of the last API answer (``None`` before the first)."""
        return self._client.last_rate_limit_remaining

    @property
    def requests_sent(self) -> int:
        """HTTP requests this source has sent (API and downloads, retries included)."""
        return self._client.requests_sent

    def quota(self) -> dict[str, int | None]:
        """The hourly quota NASA last reported: ``{"limit", "remaining"}`` (``None``: unknown)."""
        return {
            "limit": self._client.last_rate_limit_limit,
            "remaining": self._client.last_rate_limit_remaining,
        }

    async def aclose(self) -> None:
        await self._client.aclose()

    # ------------------------------------------------------------------ browsing

    async def entries(self, query: Mapping[str, str]) -> Sequence[SourceEntry]:
        """The entries ``query`` asks for, oldest first (random order for ``count``)."""
        today = self._today()
        parsed = parse_query(
            query,
            today=today,
            default_thumbs=self.settings.thumbs,
            max_range_days=self.settings.max_range_days,
        )
        if parsed.count is not None:
            records = await self._random(parsed.count, today)
        else:
            records = await self._dates(parsed, today)
        return [to_entry(record, thumbs=parsed.thumbs) for record in records]

    async def _random(self, count: int, today: dt.date) -> list[Record]:
        data = await self._client.get_json({"count": str(count), "thumbs": "true"})
        records = _records(data)
        # Random picks are not cacheable as a query, but each day they contain is.
        await self.cache.store_many({_day(r): r for r in records}, today=today)
        return records

    async def _dates(self, query: ApodQuery, today: dt.date) -> list[Record]:
        assert query.start is not None and query.end is not None
        answers = await self._answers(query.start, query.end, today)
        if query.today_requested and answers.get(today) is None:
            log.info("today's APOD (%s) is not published yet; showing yesterday's", today)
            answers = await self._answers(today - ONE_DAY, today - ONE_DAY, today)
        return [record for _, record in sorted(answers.items()) if record is not None]

    async def _answers(
        self, start: dt.date, end: dt.date, today: dt.date
    ) -> dict[dt.date, Record | None]:
        """Each day of start..end mapped to its record (``None``: the API has none)."""
        days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
        answers = await self.cache.load_many(days, today=today)
        missing = [day for day in days if day not in answers]
        if missing:
            # One request for the span of what is missing: cheaper in quota than one per gap.
            answers.update(await self._fetch(missing[0], missing[-1], today))
        return answers

    async def _fetch(
        self, start: dt.date, end: dt.date, today: dt.date
    ) -> dict[dt.date, Record | None]:
        params = {"thumbs": "true"}
        if start == end:
            params["date"] = start.isoformat()
        else:
            params.update(start_date=start.isoformat(), end_date=end.isoformat())
        try:
            records = _records(await self._client.get_json(params))
        except ApodNoData:
            if start < end == today:
                # A range ending on an unpublished today: ask again without today.
                return await self._fetch(start, end - ONE_DAY, today)
            records = []
        by_day: dict[dt.date, Record | None] = {_day(r): r for r in records}
        answers = {
            start + dt.timedelta(days=n): None for n in range((end - start).days + 1)
        } | by_day
        await self.cache.store_many(answers, today=today)
        return answers

    # ------------------------------------------------------------------ downloading

    async def download(self, entry: SourceEntry) -> AsyncIterator[bytes]:
        """Stream ``entry``'s image (its ``image_url``), at most ``max_download_bytes``."""
        if not entry.image_url:
            raise SourceError(
                f"APOD {entry.external_id} is a {entry.media_type} with no image to download"
            )
        async for chunk in self._client.stream(entry.image_url, max_bytes=self.max_download_bytes):
            yield chunk


def _records(data: Any) -> list[Record]:
    """The API answers one object for ``date`` and a list for ranges and counts."""
    items = data if isinstance(data, list) else [data]
    records = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("date"), str):
            try:
                dt.date.fromisoformat(item["date"])
            except ValueError:
                pass
            else:
                records.append(item)
                continue
        log.warning("skipping an APOD record without a valid date")
    if items and not records:
        raise SourceError("NASA APOD answered with records this plugin cannot read")
    return records


def _day(record: Record) -> dt.date:
    return dt.date.fromisoformat(record["date"])


def _url(value: Any) -> str | None:
    """APOD URLs come as https, http or protocol-relative (``//www.youtube.com/embed/...``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    return "https:" + text if text.startswith("//") else text


def _text(value: Any) -> str | None:
    """Copyright lines arrive with stray newlines and padding ("\\nJohn Doe\\n")."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


def to_entry(record: Record, *, thumbs: bool) -> SourceEntry:
    """Turn an API record into a :class:`SourceEntry`.

    ``image_url`` is the HD image when there is one, else ``url``; for a video it is the
    thumbnail when ``thumbs`` (else ``None``: listed, not importable); for ``other`` it is
    ``None``. A record without ``copyright`` is public domain (NASA's own work).
    """
    day = _day(record)
    media_type = str(record.get("media_type") or "other")
    url, hdurl, thumb = (
        _url(record.get("url")),
        _url(record.get("hdurl")),
        _url(record.get("thumbnail_url")),
    )
    if media_type == "image":
        image_url, thumbnail = hdurl or url, url or hdurl
    elif media_type == "video":
        image_url, thumbnail = (thumb if thumbs else None), thumb
    else:
        image_url, thumbnail = None, thumb
    title = _text(record.get("title")) or f"APOD {day.isoformat()}"
    copyright_ = _text(record.get("copyright"))
    page_url = PAGE_URL.format(day)
    metadata = {
        "title": title,
        "explanation": record.get("explanation") or "",
        "date": day.isoformat(),
        "copyright": copyright_,
        "public_domain": copyright_ is None,
        "source_url": image_url or url or page_url,
        "page_url": page_url,
        "media_type": media_type,
        "url": url,
        "hdurl": hdurl,
        "service_version": record.get("service_version"),
    }
    return SourceEntry(
        external_id=day.isoformat(),
        title=title,
        media_type=media_type,
        image_url=image_url,
        page_url=page_url,
        thumbnail_url=thumbnail,
        date=day,
        metadata=metadata,
    )
