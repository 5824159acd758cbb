"""The ImageSource contract suite.

Subclass :class:`ImageSourceContract` in a test module (the subclass name must start with
``Test``), supply an ``image_source`` fixture and say which queries are good and bad::

    from salon.testing import ImageSourceContract

    class TestMySource(ImageSourceContract):
        valid_query = {"date": "2024-05-17"}
        bad_queries = [{"date": "yesterday-ish"}, {"count": "-1"}]

        @pytest.fixture
        def image_source(self, tmp_path):
            return MySource(base_url=FAKE_UPSTREAM)

        @pytest.fixture
        def upstream_calls(self, image_source):
            return lambda: image_source.requests_sent     # optional: a counter hook

What is checked (the core relies on each):

- ``entries(valid_query)`` returns :class:`~salon.providers.SourceEntry` values with unique,
  non-empty ``external_id``\\ s (imports are deduplicated by them), JSON-able ``metadata`` (the
  API returns it as is) and at least one importable entry (``image_url`` set);
- every one of ``bad_queries`` raises :class:`~salon.errors.SourceQueryError` (a 400 for the
  client), and, when the subclass provides the ``upstream_calls`` counter, raises it *before*
  any upstream request: a typo must not spend the user's API quota;
- ``download(entry)`` is lazy (calling it sends nothing until iterated, when a counter is
  given) and streams ``bytes`` chunks that decode as an image;
- ``download`` of an entry without ``image_url`` raises :class:`~salon.errors.SourceError`;
- upstream failures raise :class:`~salon.errors.SourceError` (a 502), never a library's own
  exception: supply ``failing_image_source``, a source of yours pointed at an upstream that
  does not answer, to check it (the test skips, saying so, without it);
- an upstream that answers 429 raises :class:`~salon.errors.SourceRateLimited` (a 429 with
  ``Retry-After`` for the client; an import job waits that long and retries), with
  ``retry_after`` ``None`` or seconds: supply ``rate_limited_image_source``, a source of yours
  whose upstream answers 429 (the test skips, saying so, without it);
- a :class:`~salon.providers.PagedImageSource` pages: following ``next_cursor`` from the first
  page of ``valid_query`` (up to ``max_pages`` pages) never repeats an ``external_id``,
  and a cursor it never gave out (``malformed_cursor``) raises ``SourceQueryError`` (skipped,
  saying so, for a source without ``entries_page``).

The tests are ``async`` and expect pytest-asyncio in auto mode (``asyncio_mode = "auto"``).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import ClassVar

import pytest

from salon.errors import (
    ProviderError,
    SalonError,
    SourceError,
    SourceQueryError,
    SourceRateLimited,
)
from salon.providers import ImageSource, PagedImageSource, SourceCaller, SourceEntry, SourcePage

__all__ = ["ImageSourceContract", "UpstreamCalls", "read_download"]

UpstreamCalls = Callable[[], int]
"""The optional ``upstream_calls`` fixture's type: how many upstream requests so far."""


async def read_download(source: ImageSource, entry: SourceEntry) -> tuple[bytes, list[int]]:
    """Everything ``download(entry)`` yields, and the size of each chunk."""
    data = bytearray()
    sizes: list[int] = []
    stream: AsyncIterator[bytes] = source.download(entry)
    async for chunk in stream:
        assert isinstance(chunk, bytes | bytearray | memoryview), type(chunk).__name__
        data += chunk
        sizes.append(len(chunk))
    return bytes(data), sizes


class ImageSourceContract:
    """Reusable tests for any :class:`~salon.providers.ImageSource`; see the module doc."""

    valid_query: ClassVar[Mapping[str, str]] = {}
    """A query that returns at least one importable entry."""

    bad_queries: ClassVar[Sequence[Mapping[str, str]]] = ()
    """Queries the source must refuse with SourceQueryError before calling upstream."""

    max_pages: ClassVar[int] = 20
    """How many pages of ``valid_query`` a paged source may answer before the check stops."""

    malformed_cursor: ClassVar[str] = "salon-contract-not-a-cursor"
    """A cursor the source never gives out (a paged source must refuse it)."""

    downloads_are_images: ClassVar[bool] = True
    """False for a source whose ``download`` yields something the core converts first."""

    @pytest.fixture
    def image_source(self) -> ImageSource:
        """Override in the subclass: return the source under test."""
        raise NotImplementedError(
            "an ImageSourceContract subclass must define an `image_source` fixture"
        )

    @pytest.fixture
    def upstream_calls(self) -> UpstreamCalls | None:
        """Override to return a function counting upstream requests; ``None``: not checked."""
        return None

    @pytest.fixture
    def failing_image_source(self) -> ImageSource:
        """Override to check error types: a source whose upstream does not answer."""
        pytest.skip("no failing_image_source fixture given: upstream error types not checked")

    @pytest.fixture
    def rate_limited_image_source(self) -> ImageSource:
        """Override to check rate limits: a source whose upstream answers 429."""
        pytest.skip(
            "no rate_limited_image_source fixture given: SourceRateLimited on a 429 not checked"
        )

    # ------------------------------------------------------------------ helpers

    async def _importable(self, source: ImageSource) -> SourceEntry:
        entries = await source.entries(dict(self.valid_query))
        for entry in entries:
            if entry.image_url is not None:
                return entry
        pytest.fail(f"entries({dict(self.valid_query)!r}) returned no importable entry")

    # ------------------------------------------------------------------ shape

    def test_satisfies_protocol(self, image_source: ImageSource) -> None:
        assert isinstance(image_source, ImageSource)
        assert isinstance(image_source.name, str) and image_source.name.strip()
        assert isinstance(image_source.title, str) and image_source.title.strip()
        # The name is a path segment of /api/sources/{name}/entries.
        assert "/" not in image_source.name and image_source.name == image_source.name.strip()

    async def test_entries_for_a_valid_query(self, image_source: ImageSource) -> None:
        if not self.valid_query:
            pytest.skip("set `valid_query` on the subclass to check entries()")
        entries = await image_source.entries(dict(self.valid_query))
        assert isinstance(entries, Sequence)
        assert len(entries) >= 1, f"no entries for {dict(self.valid_query)!r}"
        ids = []
        for entry in entries:
            assert isinstance(entry, SourceEntry), type(entry).__name__
            assert isinstance(entry.external_id, str) and entry.external_id
            assert isinstance(entry.title, str)
            assert isinstance(entry.media_type, str) and entry.media_type
            assert entry.image_url is None or isinstance(entry.image_url, str)
            # The API answers metadata as JSON; anything else would fail the response.
            json.dumps(dict(entry.metadata))
            ids.append(entry.external_id)
        assert len(ids) == len(set(ids)), f"duplicate external_id in {ids}"
        assert any(e.image_url is not None for e in entries), "no importable entry"

    # ------------------------------------------------------------------ bad queries

    async def test_bad_queries_raise_source_query_error(
        self, image_source: ImageSource, upstream_calls: UpstreamCalls | None
    ) -> None:
        if not self.bad_queries:
            pytest.skip("set `bad_queries` on the subclass to check query validation")
        for query in self.bad_queries:
            before = upstream_calls() if upstream_calls is not None else 0
            with pytest.raises(SourceQueryError) as info:
                await image_source.entries(dict(query))
            assert str(info.value).strip(), f"empty message for {dict(query)!r}"
            if upstream_calls is not None:
                sent = upstream_calls() - before
                assert sent == 0, f"{dict(query)!r} made {sent} upstream call(s) before failing"

    def test_error_types_map_to_the_right_status(self) -> None:
        # A bad query is the caller's fault (400); an upstream failure is not (502).
        assert issubclass(SourceQueryError, SalonError)
        assert not issubclass(SourceQueryError, ProviderError)
        assert issubclass(SourceError, ProviderError)

    # ------------------------------------------------------------------ downloads

    async def test_download_is_lazy_and_streams_bytes(
        self, image_source: ImageSource, upstream_calls: UpstreamCalls | None
    ) -> None:
        if not self.valid_query:
            pytest.skip("set `valid_query` on the subclass to check download()")
        entry = await self._importable(image_source)
        before = upstream_calls() if upstream_calls is not None else 0
        stream = image_source.download(entry)
        if upstream_calls is not None:
            assert upstream_calls() == before, "download() sent a request before iteration"
        assert hasattr(stream, "__anext__"), "download() must return an async iterator"
        data = bytearray()
        async for chunk in stream:
            assert isinstance(chunk, bytes | bytearray | memoryview), type(chunk).__name__
            data += chunk
        assert len(data) > 0, "download yielded no bytes"
        if self.downloads_are_images:
            from PIL import Image

            with Image.open(io.BytesIO(bytes(data))) as image:
                image.verify()

    async def test_download_without_image_url_is_a_source_error(
        self, image_source: ImageSource
    ) -> None:
        entry = SourceEntry(
            external_id="salon-contract-no-image",
            title="not an image",
            media_type="video",
            image_url=None,
        )
        with pytest.raises(SourceError):
            await read_download(image_source, entry)

    async def test_upstream_failure_is_a_source_error(
        self, failing_image_source: ImageSource
    ) -> None:
        if not self.valid_query:
            pytest.skip("set `valid_query` on the subclass to check upstream failures")
        try:
            await failing_image_source.entries(dict(self.valid_query))
        except SourceError:
            return
        except Exception as exc:
            name = f"{type(exc).__module__}.{type(exc).__name__}"
            pytest.fail(f"an upstream failure raised {name}, not salon.errors.SourceError")
        pytest.fail("entries() returned although the upstream does not answer")

    async def test_upstream_rate_limit_is_source_rate_limited(
        self, rate_limited_image_source: ImageSource
    ) -> None:
        if not self.valid_query:
            pytest.skip("set `valid_query` on the subclass to check rate limits")
        assert issubclass(SourceRateLimited, SourceError)  # old `except SourceError` still works
        try:
            await rate_limited_image_source.entries(dict(self.valid_query))
        except SourceRateLimited as exc:
            wait = exc.retry_after
            assert wait is None or (isinstance(wait, int | float) and wait >= 0), wait
            return
        except Exception as exc:
            name = f"{type(exc).__module__}.{type(exc).__name__}"
            pytest.fail(f"an upstream 429 raised {name}, not salon.errors.SourceRateLimited")
        pytest.fail("entries() returned although the upstream answers 429")

    async def test_a_paged_source_pages(self, image_source: ImageSource) -> None:
        if not isinstance(image_source, PagedImageSource):
            pytest.skip("the source has no entries_page: paging not checked")
        if not self.valid_query:
            pytest.skip("set `valid_query` on the subclass to check paging")
        caller = SourceCaller(uuid.uuid4(), "contract@example.org")
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(self.max_pages):
            page = await image_source.entries_page(
                dict(self.valid_query), cursor=cursor, caller=caller
            )
            assert isinstance(page, SourcePage), type(page).__name__
            seen += [entry.external_id for entry in page.entries]
            assert page.next_cursor is None or isinstance(page.next_cursor, str)
            assert page.next_cursor != cursor, "next_cursor repeats the cursor: endless pages"
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len(set(seen)), f"an external_id on two pages: {seen}"
        with pytest.raises(SourceQueryError):
            await image_source.entries_page(
                dict(self.valid_query), cursor=self.malformed_cursor, caller=caller
            )
