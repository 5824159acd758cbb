"""Browsing against the fake API: each quirk of the real one, and the cache."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from salon.providers import ImageSource
from salon_nasa_apod import ApodSource
from salon_nasa_apod.testing import FAKE_TODAY, QUIRK_DATES, FakeApodServer

MakeSource = Callable[..., ApodSource]

YESTERDAY = FAKE_TODAY - dt.timedelta(days=1)


def test_source_satisfies_the_protocol(source: ApodSource) -> None:
    assert isinstance(source, ImageSource)
    assert (source.name, source.title) == ("apod", "APOD")


async def test_single_image_with_hdurl_and_copyright(
    source: ApodSource, fake: FakeApodServer
) -> None:
    [entry] = await source.entries({"date": "2024-03-01"})
    assert entry.external_id == "2024-03-01"
    assert entry.date == dt.date(2024, 3, 1)
    assert entry.media_type == "image"
    assert entry.image_url == fake.image_url("2024-03-01-hd")
    assert entry.thumbnail_url == fake.image_url("2024-03-01")
    assert entry.page_url == "https://apod.nasa.gov/apod/ap240301.html"
    assert entry.title == "Fake Nebula 2024-03-01"
    meta = entry.metadata
    assert meta["copyright"] == "Jane Astronomer"  # newlines the API adds are gone
    assert meta["public_domain"] is False
    assert meta["explanation"] == "What the fake sky showed on 2024-03-01."
    assert meta["source_url"] == entry.image_url
    assert meta["service_version"] == "v1"
    assert meta["date"] == "2024-03-01"
    # The key went in the header, never into the URL.
    [seen] = fake.api_requests
    assert seen.headers["x-api-key"] == fake.api_key
    assert "api_key" not in seen.params
    assert seen.params == {"date": "2024-03-01", "thumbs": "true"}


async def test_missing_hdurl_falls_back_to_url_and_no_copyright_is_public_domain(
    source: ApodSource, fake: FakeApodServer
) -> None:
    [entry] = await source.entries({"date": QUIRK_DATES["no_hdurl"].isoformat()})
    assert entry.image_url == fake.image_url("2024-03-04")
    assert entry.metadata["copyright"] is None
    assert entry.metadata["public_domain"] is True


async def test_video_is_listed_but_has_no_image_unless_thumbs(make_source: MakeSource) -> None:
    day = QUIRK_DATES["video"].isoformat()
    [plain] = await make_source().entries({"date": day})
    assert plain.media_type == "video"
    assert plain.image_url is None
    # Protocol-relative embed URLs are made absolute.
    assert plain.metadata["url"] == "https://www.youtube.com/embed/fakeflyby?rel=0"
    assert plain.metadata["source_url"] == "https://www.youtube.com/embed/fakeflyby?rel=0"
    [thumbed] = await make_source().entries({"date": day, "thumbs": "true"})
    assert thumbed.image_url is not None and thumbed.image_url.endswith("/2024-03-02-thumb.jpg")
    [by_setting] = await make_source(thumbs=True).entries({"date": day})
    assert by_setting.image_url == thumbed.image_url


async def test_other_without_url_has_no_image(source: ApodSource) -> None:
    [entry] = await source.entries({"date": QUIRK_DATES["other"].isoformat()})
    assert entry.media_type == "other"
    assert entry.image_url is None
    assert entry.thumbnail_url is None
    assert entry.metadata["source_url"] == entry.page_url


async def test_range_skips_the_missing_day(source: ApodSource, fake: FakeApodServer) -> None:
    entries = await source.entries({"start_date": "2024-03-01", "end_date": "2024-03-06"})
    ids = [e.external_id for e in entries]
    assert ids == ["2024-03-01", "2024-03-02", "2024-03-04", "2024-03-05", "2024-03-06"]
    assert [e.media_type for e in entries] == ["image", "video", "image", "other", "image"]
    assert len(fake.api_requests) == 1


async def test_a_missing_single_day_is_an_empty_answer(
    source: ApodSource, fake: FakeApodServer
) -> None:
    assert await source.entries({"date": QUIRK_DATES["missing"].isoformat()}) == []
    assert await source.entries({"date": QUIRK_DATES["missing"].isoformat()}) == []
    assert len(fake.api_requests) == 1  # the gap itself is cached


async def test_today_unpublished_falls_back_to_yesterday(
    make_source: MakeSource, fake: FakeApodServer
) -> None:
    now = [1_000_000.0]
    source = make_source(clock=lambda: now[0])
    fake.published_today = False
    [entry] = await source.entries({"date": "today"})
    assert entry.external_id == YESTERDAY.isoformat()
    asked = [seen.params.get("date") for seen in fake.api_requests]
    assert asked == [FAKE_TODAY.isoformat(), YESTERDAY.isoformat()]
    # No query at all means today as well; "not yet published" is cached for a while.
    [again] = await source.entries({})
    assert again.external_id == YESTERDAY.isoformat()
    assert len(fake.api_requests) == 2
    # Once published, today's entry shows up after a few minutes at most.
    fake.published_today = True
    now[0] += 299
    [still] = await source.entries({"date": "today"})
    assert still.external_id == YESTERDAY.isoformat()
    now[0] += 2
    [published] = await source.entries({"date": "today"})
    assert published.external_id == FAKE_TODAY.isoformat()
    assert len(fake.api_requests) == 3


async def test_explicit_date_of_today_does_not_fall_back(
    source: ApodSource, fake: FakeApodServer
) -> None:
    fake.published_today = False
    assert await source.entries({"date": FAKE_TODAY.isoformat()}) == []


async def test_range_ending_on_unpublished_today(source: ApodSource, fake: FakeApodServer) -> None:
    fake.published_today = False
    entries = await source.entries({"start_date": "2024-03-08"})
    assert [e.external_id for e in entries] == ["2024-03-08", "2024-03-09"]
    ends = [seen.params.get("end_date") for seen in fake.api_requests]
    assert ends == ["2024-03-10", "2024-03-09"]


async def test_count_returns_random_entries_and_caches_their_days(
    source: ApodSource, fake: FakeApodServer
) -> None:
    entries = await source.entries({"count": "5"})
    assert len(entries) == 5
    assert len({e.external_id for e in entries}) == 5
    assert fake.api_requests[0].params == {"count": "5", "thumbs": "true"}
    # Browsing one of the picked days again is free.
    [again] = await source.entries({"date": entries[0].external_id})
    assert again == entries[0]
    assert len(fake.api_requests) == 1


async def test_second_browse_of_the_same_range_makes_no_request(
    make_source: MakeSource, fake: FakeApodServer, tmp_path: Path
) -> None:
    query = {"start_date": "2024-02-20", "end_date": "2024-03-06"}
    first = await make_source().entries(query)
    assert len(fake.api_requests) == 1
    # A new source on the same data folder (a restart) still answers from the cache.
    second = await make_source().entries(query)
    assert second == first
    assert len(fake.api_requests) == 1
    assert (tmp_path / "apod-cache" / "2024-03-01.json").is_file()


async def test_overlapping_range_fetches_only_the_missing_span(
    source: ApodSource, fake: FakeApodServer
) -> None:
    await source.entries({"start_date": "2024-03-01", "end_date": "2024-03-04"})
    entries = await source.entries({"start_date": "2024-02-27", "end_date": "2024-03-06"})
    assert len(entries) == 8  # 9 days (2024 is a leap year), one missing
    second = fake.api_requests[1].params
    assert (second["start_date"], second["end_date"]) == ("2024-02-27", "2024-03-06")
    entries = await source.entries({"start_date": "2024-03-05", "end_date": "2024-03-08"})
    third = fake.api_requests[2].params
    assert (third["start_date"], third["end_date"]) == ("2024-03-07", "2024-03-08")
    assert [e.external_id for e in entries][-1] == "2024-03-08"


async def test_todays_entry_is_cached_only_briefly(
    make_source: MakeSource, fake: FakeApodServer
) -> None:
    source = make_source(cache_ttl=0)
    await source.entries({"date": "today"})
    await source.entries({"date": "today"})
    assert len(fake.api_requests) == 2  # ttl 0: today is always asked again
    # Within the ttl, today's cached entry is used.
    cached = make_source(cache_ttl=3600)
    await cached.entries({"date": "today"})
    assert len(fake.api_requests) == 2
    # A past day fetched once stays cached even with ttl 0.
    await source.entries({"date": "2024-03-01"})
    await source.entries({"date": "2024-03-01"})
    assert len(fake.api_requests) == 3


async def test_unreadable_cache_file_is_ignored_and_replaced(
    source: ApodSource, fake: FakeApodServer, tmp_path: Path
) -> None:
    cache = tmp_path / "apod-cache"
    cache.mkdir()
    (cache / "2024-03-01.json").write_text("{not json")
    [entry] = await source.entries({"date": "2024-03-01"})
    assert entry.external_id == "2024-03-01"
    assert b"Fake Nebula" in (cache / "2024-03-01.json").read_bytes()
    assert len(fake.api_requests) == 1


async def test_quota_is_reported(source: ApodSource, fake: FakeApodServer) -> None:
    assert source.last_rate_limit_remaining is None
    await source.entries({"date": "2024-03-01"})
    assert source.last_rate_limit_remaining == fake.rate_limit - 1
    assert source.quota() == {"limit": fake.rate_limit, "remaining": fake.rate_limit - 1}
