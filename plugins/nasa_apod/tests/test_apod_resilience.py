"""Upstream failures: 429 with and without Retry-After, 5xx, timeouts, bad keys; and the key
never showing up in an error or a log line."""

from __future__ import annotations

import email.utils
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from salon.errors import SourceError, SourceQueryError
from salon_nasa_apod import ApodRateLimited, ApodSettings, ApodSource
from salon_nasa_apod.testing import Canned, FakeApodServer, rate_limited

MakeSource = Callable[..., ApodSource]
ONE_DAY = {"date": "2024-03-01"}


async def test_429_without_retry_after_backs_off_exponentially(
    make_source: MakeSource, fake: FakeApodServer, sleeps: Any
) -> None:
    fake.script.extend([rate_limited(), rate_limited()])
    source = make_source(sleep=sleeps, backoff=0.5, max_retries=3)
    [entry] = await source.entries(ONE_DAY)
    assert entry.external_id == "2024-03-01"
    assert sleeps.waits == [0.5, 1.0]
    assert len(fake.api_requests) == 3


async def test_429_retry_after_is_respected(
    make_source: MakeSource, fake: FakeApodServer, sleeps: Any
) -> None:
    fake.script.append(rate_limited(retry_after="7"))
    source = make_source(sleep=sleeps, backoff=0.5)
    await source.entries(ONE_DAY)
    assert sleeps.waits == [7.0]


async def test_429_retry_after_as_an_http_date(
    make_source: MakeSource, fake: FakeApodServer, sleeps: Any
) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    fake.script.append(rate_limited(retry_after=when))
    await make_source(sleep=sleeps).entries(ONE_DAY)
    [wait] = sleeps.waits
    assert 15 <= wait <= 20


async def test_429_retry_after_really_waits(make_source: MakeSource, fake: FakeApodServer) -> None:
    fake.script.append(rate_limited(retry_after="1"))
    source = make_source(backoff=0.0)
    started = time.monotonic()
    [entry] = await source.entries(ONE_DAY)
    assert time.monotonic() - started >= 0.95
    assert entry.external_id == "2024-03-01"


async def test_429_retry_after_beyond_the_bound_fails_at_once(
    make_source: MakeSource, fake: FakeApodServer, sleeps: Any
) -> None:
    fake.script.append(rate_limited(retry_after="3600"))
    source = make_source(sleep=sleeps, max_retry_after=60)
    with pytest.raises(ApodRateLimited) as info:
        await source.entries(ONE_DAY)
    assert sleeps.waits == []
    assert info.value.retry_after == 3600
    assert "OVER_RATE_LIMIT" in str(info.value)
    assert "retry after 3600 s" in str(info.value)
    assert len(fake.api_requests) == 1


async def test_quota_spent_reports_remaining_and_gives_up(
    make_source: MakeSource, fake: FakeApodServer, sleeps: Any
) -> None:
    fake.remaining = 1  # this request is the last one allowed
    source = make_source(sleep=sleeps, max_retries=2)
    await source.entries(ONE_DAY)
    assert source.last_rate_limit_remaining == 0
    with pytest.raises(ApodRateLimited) as info:
        await source.entries({"date": "2024-03-02"})
    assert isinstance(info.value, SourceError)
    assert info.value.remaining == 0
    assert "0 requests remaining" in str(info.value)
    assert len(sleeps.waits) == 2  # bounded: max_retries
    assert len(fake.api_requests) == 4


async def test_5xx_is_retried_with_backoff(
    make_source: MakeSource, fake: FakeApodServer, sleeps: Any
) -> None:
    fake.script.extend([Canned(500, {"code": 500, "msg": "Internal"}), Canned(503, "busy")])
    source = make_source(sleep=sleeps, backoff=2.0)
    [entry] = await source.entries(ONE_DAY)
    assert entry.title == "Fake Nebula 2024-03-01"
    assert sleeps.waits == [2.0, 4.0]


async def test_5xx_every_time_gives_a_source_error(
    make_source: MakeSource, fake: FakeApodServer, sleeps: Any
) -> None:
    fake.script.extend([Canned(502, None)] * 5)
    source = make_source(sleep=sleeps, max_retries=2)
    with pytest.raises(SourceError, match="HTTP 502"):
        await source.entries(ONE_DAY)
    assert len(fake.api_requests) == 3


async def test_timeout_is_retried(make_source: MakeSource, fake: FakeApodServer) -> None:
    fake.script.append(Canned(200, {"date": "2024-03-01", "title": "late"}, delay=1.0))
    source = make_source(timeout=0.3, backoff=0.0, max_retries=1)
    [entry] = await source.entries(ONE_DAY)
    assert entry.title == "Fake Nebula 2024-03-01"  # the second, timely answer
    assert len(fake.api_requests) == 2


async def test_timeouts_every_time_give_a_source_error(
    make_source: MakeSource, fake: FakeApodServer
) -> None:
    fake.script.extend([Canned(200, [], delay=0.8)] * 2)
    source = make_source(timeout=0.2, backoff=0.0, max_retries=1)
    with pytest.raises(SourceError, match=r"did not answer within 0\.2 s"):
        await source.entries(ONE_DAY)


async def test_invalid_key_is_a_clear_error(make_source: MakeSource, fake: FakeApodServer) -> None:
    source = make_source(api_key="not-the-right-key-123")
    with pytest.raises(SourceError) as info:
        await source.entries(ONE_DAY)
    assert "API_KEY_INVALID" in str(info.value)
    assert "SALON_APOD_API_KEY" in str(info.value)
    assert "not-the-right-key-123" not in str(info.value)


async def test_upstream_400_is_a_query_error(make_source: MakeSource, fake: FakeApodServer) -> None:
    # The API's clock may be behind ours around midnight: its 400 reaches the caller as a 400.
    fake.script.append(Canned(400, {"code": 400, "msg": "Date must be between Jun 16, 1995 and"}))
    with pytest.raises(SourceQueryError, match="Date must be between"):
        await make_source().entries(ONE_DAY)


async def test_garbage_answer_is_a_source_error(
    make_source: MakeSource, fake: FakeApodServer
) -> None:
    fake.script.append(Canned(200, {"unexpected": True}))
    with pytest.raises(SourceError, match="cannot read"):
        await make_source().entries(ONE_DAY)


async def test_unreachable_host_is_a_source_error(make_source: MakeSource) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    source = make_source(base_url=f"http://127.0.0.1:{port}/planetary/apod")
    with pytest.raises(SourceError, match=r"cannot connect to 127\.0\.0\.1"):
        await source.entries(ONE_DAY)


async def test_the_key_never_appears_in_logs_or_errors(
    make_source: MakeSource, fake: FakeApodServer, caplog: pytest.LogCaptureFixture
) -> None:
    secret = fake.api_key
    caplog.set_level(logging.DEBUG)  # httpx logs URLs at INFO, httpcore more at DEBUG
    messages: list[str] = []
    # The upstream echoes the key back in its error text: it must be scrubbed.
    fake.script.extend(
        [
            Canned(500, {"msg": f"failed for api_key={secret}"}),
            Canned(500, {"msg": f"still failing for {secret}"}),
        ]
    )
    source = make_source(max_retries=1)
    with pytest.raises(SourceError) as info:
        await source.entries(ONE_DAY)
    messages.append(str(info.value))
    fake.script.append(rate_limited(retry_after="99999"))
    with pytest.raises(SourceError) as info:
        await source.entries(ONE_DAY)
    messages.append(str(info.value))
    await source.entries({"start_date": "2024-03-01", "end_date": "2024-03-05"})
    assert any("HTTP Request" in r.getMessage() for r in caplog.records), "httpx did log"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert secret not in logged
    assert secret not in "\n".join(messages)
    assert "***" in messages[0]
    assert secret not in repr(source) + repr(source.settings)


def test_settings_reject_bad_values() -> None:
    with pytest.raises(ValueError, match="base_url"):
        ApodSettings(base_url="ftp://example.org")
    with pytest.raises(ValueError, match="query string"):
        ApodSettings(base_url="https://api.nasa.gov/planetary/apod?api_key=abc")
    with pytest.raises(ValueError, match="max_retries"):
        ApodSettings(max_retries=50)
