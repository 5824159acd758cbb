"""The ImageSource contract kit's paging check: a well-behaved PagedImageSource passes the whole
suite, and one that repeats entries across pages or accepts any cursor is caught."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence

import pytest
from salon.errors import SourceError, SourceQueryError
from salon.providers import PagedImageSource, SourceCaller, SourceEntry, SourcePage
from salon.testing import ImageSourceContract, sample_jpeg


class Numbers:
    """Seven entries, three a page; ``overlap`` makes each page repeat the previous one's last
    entry, ``lenient`` accepts any cursor (both broken)."""

    name = "numbers"
    title = "Numbers"

    def __init__(self, *, overlap: bool = False, lenient: bool = False) -> None:
        self.overlap, self.lenient = overlap, lenient

    def _all(self) -> list[SourceEntry]:
        return [SourceEntry(f"n{i}", f"Number {i}", "image", f"memory://n{i}") for i in range(7)]

    async def entries(self, query: Mapping[str, str]) -> Sequence[SourceEntry]:
        if query.get("size", "3") != "3":
            raise SourceQueryError("size must be 3")
        return self._all()[:3]

    async def entries_page(
        self, query: Mapping[str, str], *, cursor: str | None, caller: SourceCaller
    ) -> SourcePage:
        if cursor is not None and not cursor.isdigit():
            if not self.lenient:
                raise SourceQueryError("malformed cursor")
            cursor = None
        start = int(cursor or 0)
        page = self._all()[start : start + 3]
        step = 2 if self.overlap else 3
        return SourcePage(page, str(start + step) if start + 3 < 7 else None)

    async def download(self, entry: SourceEntry) -> AsyncIterator[bytes]:
        if entry.image_url is None:
            raise SourceError("no image")
        yield sample_jpeg(16, 16)


class TestNumbers(ImageSourceContract):
    valid_query = {"size": "3"}
    bad_queries = [{"size": "4"}]

    @pytest.fixture
    def image_source(self) -> Numbers:
        return Numbers()


@pytest.mark.parametrize(
    ("broken", "says"),
    [
        (Numbers(overlap=True), "an external_id on two pages"),
        (Numbers(lenient=True), "DID NOT RAISE"),
    ],
)
async def test_broken_paging_is_caught(broken: Numbers, says: str) -> None:
    assert isinstance(broken, PagedImageSource)
    with pytest.raises((AssertionError, pytest.fail.Exception)) as info:
        await TestNumbers().test_a_paged_source_pages(broken)
    assert says in str(info.value)
