"""The ``folder`` source against Salon's ImageSourceContract, paging included."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from salon.errors import SourceQueryError
from salon.providers import SourceCaller
from salon.testing import ImageSourceContract, UpstreamCalls
from salon_folder_source import FolderSource


class TestFolderSource(ImageSourceContract):
    valid_query = {"per_page": "2"}
    bad_queries = [{"per_page": "many"}, {"per_page": "0"}, {"name": "../etc/passwd"}, {"x": "1"}]
    malformed_cursor = "bm90LWEtY3Vyc29y"  # base64 of "not-a-cursor"

    @pytest.fixture
    def image_source(self, photo_folder: Path) -> FolderSource:
        return FolderSource(photo_folder, page_size=10)

    @pytest.fixture
    def upstream_calls(self, image_source: FolderSource) -> UpstreamCalls:
        return lambda: image_source.listings  # a bad query must not read the folder

    @pytest.fixture
    def failing_image_source(self, tmp_path: Path) -> FolderSource:
        return FolderSource(tmp_path / "not-there")


async def test_pages_cover_the_folder_once_in_order(
    photo_folder: Path, photo_names: list[str]
) -> None:
    source = FolderSource(photo_folder, page_size=10)
    caller = SourceCaller(uuid.uuid4())
    pages, cursor = [], None
    while True:
        page = await source.entries_page({"per_page": "2"}, cursor=cursor, caller=caller)
        pages.append([entry.external_id for entry in page.entries])
        if (cursor := page.next_cursor) is None:
            break
    assert pages == [photo_names[0:2], photo_names[2:4], photo_names[4:5]]


async def test_one_photo_by_name_and_refusals(photo_folder: Path) -> None:
    source = FolderSource(photo_folder, page_size=3)
    [entry] = await source.entries({"name": "trips/alps.jpg"})
    assert (entry.title, entry.image_url) == ("alps", "folder:trips/alps.jpg")
    assert entry.metadata["folder_bytes"] == (photo_folder / "trips/alps.jpg").stat().st_size
    for query in ({"name": "missing.jpg"}, {"name": "link.jpg"}, {"per_page": "4"}):
        with pytest.raises(SourceQueryError):
            await source.entries(query)
