"""The API documentation pages work without internet: every script, style and icon they load is
served by Salon itself (vendored under static/vendor), and their CSP allows no other origin."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from salon.testing.fixtures import RunningApp
from salon.web.pages import STATIC

DOCS_PAGES = ("/schema", "/schema/redoc", "/schema/swagger")


class _Assets(HTMLParser):
    """The URLs a page loads: script src, link href (stylesheets, icons), img src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for kind, attr in (("script", "src"), ("link", "href"), ("img", "src")):
            if tag == kind and values.get(attr):
                self.urls.append((tag, values[attr] or ""))


def _assets(html: str) -> list[tuple[str, str]]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", DOCS_PAGES)
async def test_docs_page_loads_only_same_origin_assets(salon_app: RunningApp, page: str) -> None:
    response = await salon_app.client.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assets = _assets(response.text)
    scripts = [url for tag, url in assets if tag == "script"]
    assert scripts, f"{page} loads no script: {response.text[:300]}"
    for tag, url in assets:
        # Same origin: a path on this server, not another host (http:, https: or //host).
        assert url.startswith("/") and not url.startswith("//"), (page, tag, url)
        asset = await salon_app.client.get(url)
        assert asset.status_code == 200, (page, url)
        assert len(asset.content) > 0
        if tag == "script":
            assert "javascript" in asset.headers["content-type"], (url, asset.headers)
    assert "http://" not in response.text.split("<body", 1)[0].replace("http://www.w3.org", ""), (
        "a CDN URL in the page head"
    )
    assert "https://" not in response.text.split("<body", 1)[0]
    # The browser would refuse any other origin too.
    csp = response.headers["content-security-policy"]
    assert "https:" not in csp and "http:" not in csp and "*" not in csp
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


async def test_swagger_ui_loads_its_stylesheet_and_both_bundles(salon_app: RunningApp) -> None:
    page = await salon_app.client.get("/schema/swagger")
    assets = _assets(page.text)
    paths = {url for _, url in assets}
    assert "/static/vendor/swagger-ui/swagger-ui.css" in paths
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in paths
    assert "/static/vendor/swagger-ui/swagger-ui-standalone-preset.js" in paths


def test_vendored_bundles_ship_with_their_licences() -> None:
    vendor = Path(STATIC) / "vendor"
    for folder, licences in (
        ("redoc", ("LICENSE", "redoc.standalone.js.LICENSE.txt")),
        ("swagger-ui", ("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt")),
    ):
        for name in licences:
            assert (vendor / folder / name).stat().st_size > 0, (folder, name)
    readme = (vendor / "README.md").read_text()
    assert "redoc" in readme and "swagger-ui-dist" in readme


async def test_the_document_is_served_as_json_and_yaml(salon_app: RunningApp) -> None:
    document = await salon_app.client.get("/schema/openapi.json")
    assert document.status_code == 200 and document.json()["info"]["title"] == "Salon"
    yaml = await salon_app.client.get("/schema/openapi.yaml")
    assert yaml.status_code == 200 and "openapi:" in yaml.text
