"""Pages owned by plugins (issue 16.2) in a real browser: with the built-in nasa_apod and
ffmpeg_video plugins (and the workspace's folder_source example) the main navigation links their
/apod, /video (and /folder) pages, whose scripts and styles load from /static/plugins/<plugin>/
without a CSP violation; a server started with SALON_DISABLE_PLUGINS=nasa_apod,ffmpeg_video,
folder_source has none of the links, no "Make a video" button, and /apod answers the 404 page."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, Server, nav_links, new_page, start_server

pytestmark = pytest.mark.e2e

CORE_LINKS = ["Photos", "Favorites", "Albums", "Upload", "Trash"]
# examples/salon-folder-source is a workspace member (`make sync` installs it): its nav entry
# sits between APOD (50) and Video (60).
FOLDER = ["Folder"] if importlib.util.find_spec("salon_folder_source") else []


@pytest.fixture(scope="module")
def without_plugins(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with ExitStack() as stack:
        yield start_server(
            stack,
            tmp_path_factory.mktemp("no-page-plugins"),
            {"SALON_DISABLE_PLUGINS": "nasa_apod,ffmpeg_video,folder_source"},
            name="no-page-plugins",
        )


def _sign_up(page: Any, server: Server) -> None:
    page.goto("/signup")
    page.get_by_label("Email").fill(f"e2e-pages-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{server.url}/")


def test_plugin_pages_are_in_the_nav_and_run_under_the_csp(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    pytest.importorskip("salon_ffmpeg_video", reason="the built-in video plugin is not installed")
    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    try:
        _sign_up(page, server)
        assert nav_links(page) == [*CORE_LINKS[:4], "APOD", *FOLDER, "Video", "Trash"]
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Video").click()
        page.wait_for_url(f"{server.url}/video")
        expect(page.get_by_role("heading", name="Video maker")).to_be_visible()
        # The plugin's module ran (it fills the empty-library note) and its CSS applies.
        expect(page.locator("[data-videos-empty]")).to_be_visible()
        display = page.locator("[data-video-list]").evaluate("e => getComputedStyle(e).display")
        assert display == "grid"
        link = page.get_by_role("link", name="Video", exact=True)
        expect(link).to_have_attribute("aria-current", "page")
        assert console.csp_violations() == [] and console.errors == [], console.errors
    finally:
        context.close()


def test_disabled_plugins_take_their_pages_and_links_away(
    browser: Any, without_plugins: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(browser, without_plugins)
    failure_context.append(page)
    try:
        _sign_up(page, without_plugins)
        assert nav_links(page) == CORE_LINKS
        expect(page.locator("[data-make-video]")).to_have_count(0)
        for path in ("/apod", "/video", "/folder"):
            response = page.goto(path)
            assert response is not None and response.status == 404, path
            expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        missing = page.request.get("/static/plugins/nasa_apod/apod.js")
        assert missing.status == 404
        assert console.csp_violations() == []
    finally:
        context.close()


def test_a_plugin_page_is_tested_with_locator_waits_under_the_csp(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    """The guide's advice for a plugin page's browser tests: wait with locators (expect(...)),
    which retry against the DOM and evaluate no string in the page; the page's CSP allows no
    'unsafe-eval' (a string evaluated by page code is refused with an EvalError)."""
    from playwright.sync_api import expect

    pytest.importorskip("salon_ffmpeg_video", reason="the built-in video plugin is not installed")
    context, page, console = new_page(browser, server)
    failure_context.append(page)
    try:
        _sign_up(page, server)
        response = page.goto("/video")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-eval" not in csp, csp
        expect(page.locator("[data-videos-empty]")).to_be_visible()
        expect(page.get_by_role("heading", name="Video maker")).to_be_visible()
        assert console.csp_violations() == [], console.csp_violations()
    finally:
        context.close()
