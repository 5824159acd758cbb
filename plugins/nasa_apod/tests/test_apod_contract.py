"""The APOD source passes Salon's ImageSource contract suite against the fake NASA API,
including the optional checks: no quota spent on a bad query, upstream failures as
SourceError, and NASA's 429 as SourceRateLimited (a 429 with Retry-After for the client)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
from salon.testing import ImageSourceContract, UpstreamCalls
from salon_nasa_apod import ApodSource
from salon_nasa_apod.testing import FakeApodServer, rate_limited

MakeSource = Callable[..., ApodSource]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class TestApodSourceContract(ImageSourceContract):
    valid_query = {"date": "2024-03-01"}
    bad_queries = [{"date": "yesterday-ish"}, {"count": "-1"}, {"date": "2024-02-30"}]

    @pytest.fixture
    def image_source(self, make_source: MakeSource) -> ApodSource:
        return make_source()

    @pytest.fixture
    def upstream_calls(self, image_source: ApodSource) -> UpstreamCalls:
        return lambda: image_source.requests_sent

    @pytest.fixture
    def failing_image_source(self, make_source: MakeSource) -> ApodSource:
        return make_source(base_url=f"http://127.0.0.1:{_closed_port()}/planetary/apod")

    @pytest.fixture
    def rate_limited_image_source(
        self, make_source: MakeSource, fake: FakeApodServer
    ) -> ApodSource:
        # Longer than max_retry_after: the source gives up at once and says how long to wait.
        fake.script.append(rate_limited(retry_after="3600"))
        return make_source()
