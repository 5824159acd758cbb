"""Fixtures: a fake APOD server on 127.0.0.1 and sources pointed at it."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from salon_nasa_apod import ApodSettings, ApodSource
from salon_nasa_apod.testing import FAKE_TODAY, FakeApodServer

MakeSource = Callable[..., ApodSource]


@pytest.fixture
def fake() -> Iterator[FakeApodServer]:
    with FakeApodServer() as server:
        yield server
    assert server.errors == [], "the fake APOD server itself failed"


class RecordingSleep:
    """Stands in for anyio.sleep where a test checks the waits, not the clock."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def make_source(fake: FakeApodServer, tmp_path: Path) -> AsyncIterator[MakeSource]:
    made: list[ApodSource] = []

    def make(
        *,
        today: dt.date = FAKE_TODAY,
        cache_dir: Path | None = None,
        sleep: Any = None,
        clock: Any = None,
        **overrides: Any,
    ) -> ApodSource:
        base = ApodSettings(api_key=fake.api_key, base_url=fake.base_url, backoff=0.01)
        settings = msgspec.structs.replace(base, **overrides)
        kwargs: dict[str, Any] = {"today": lambda: today}
        if sleep is not None:
            kwargs["sleep"] = sleep
        if clock is not None:
            kwargs["clock"] = clock
        source = ApodSource(settings, cache_dir or tmp_path / "apod-cache", **kwargs)
        made.append(source)
        return source

    yield make
    for source in made:
        await source.aclose()


@pytest.fixture
def source(make_source: MakeSource) -> ApodSource:
    return make_source()
