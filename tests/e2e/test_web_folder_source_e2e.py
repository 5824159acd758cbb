"""Example (b), examples/salon-folder-source, in a real browser: its "Folder" nav entry opens
the plugin's page, which browses the server's photo folder a page at a time (Next page follows
X-Next-Cursor until the last page) and imports a photo into the gallery, under the CSP; a
server with SALON_DISABLE_PLUGINS=folder_source has no such link and no page."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .conftest import Server, jpeg, nav_links, new_page, sign_up, start_server

pytestmark = pytest.mark.e2e
pytest.importorskip("salon_folder_source", reason="examples/salon-folder-source is not installed")

PHOTOS = ["autumn.jpg", "bridge.jpg", "canal.jpg", "dunes/east.jpg", "dunes/west.jpg"]


@pytest.fixture(scope="module")
def folder_server(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("photo-folder")
    for index, name in enumerate(PHOTOS):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(
            jpeg((120, 90), ((50 * index, 120, 200 - 40 * index), (250, 250, 240)))
        )
    env = {"SALON_FOLDER_SOURCE_ROOT": str(folder), "SALON_FOLDER_SOURCE_PAGE_SIZE": "2"}
    with ExitStack() as stack:
        yield start_server(stack, tmp_path_factory.mktemp("folder-source"), env, name="folder")


def test_browse_the_folder_page_by_page_and_import_a_photo(
    browser: Any, folder_server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(browser, folder_server)
    failure_context.append(page)
    try:
        api = sign_up(page, folder_server, f"e2e-folder-{uuid.uuid4().hex[:8]}@example.com")
        assert "Folder" in nav_links(page)
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name="Folder", exact=True
        ).click()
        page.wait_for_url(f"{folder_server.url}/folder")
        expect(page.get_by_role("heading", name="Photo folder")).to_be_visible()
        entries = page.locator("[data-folder-list] li")
        expect(entries).to_have_count(2)
        more = page.get_by_role("button", name="Next page")
        more.click()
        expect(entries).to_have_count(4)
        more.click()
        expect(entries).to_have_count(5)
        expect(more).to_be_hidden()  # the last page has no next cursor
        names = [entries.nth(i).get_attribute("data-name") for i in range(5)]
        assert names == PHOTOS
        page.get_by_role("button", name="Import west").click()
        link = entries.nth(4).get_by_role("link", name="Open in Photos")
        expect(link).to_be_visible(timeout=30_000)
        images = api.get("/api/images").json()["items"]
        assert [image["metadata"]["folder_path"] for image in images] == ["dunes/west.jpg"]
        assert link.get_attribute("href") == f"/?photo={images[0]['id']}"
        assert console.csp_violations() == [] and console.errors == [], console.errors
    finally:
        context.close()
