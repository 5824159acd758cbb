"""The API documentation renders in Chromium with every other origin unreachable, as on a
machine without internet: ReDoc at /schema lists the operations, Swagger UI at /schema/swagger
shows them and offers the Bearer authorization."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import Server, new_page, wait_until

pytestmark = pytest.mark.e2e


def _offline(context: Any, server: Server) -> list[str]:
    """Abort every request that leaves the server's origin; return the list of those tried."""
    origin = urlsplit(server.url).netloc
    tried: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).netloc == origin or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            tried.append(url)
            route.abort()

    context.route("**/*", route)
    return tried


def test_redoc_renders_offline(browser: Any, server: Server, failure_context: list[Any]) -> None:
    context, page, console = new_page(browser, server)
    failure_context.append(page)
    tried = _offline(context, server)
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto("/schema")
    # ReDoc renders one section per operation, the upload's with its multipart body.
    count = wait_until(
        page,
        "() => document.querySelectorAll('[data-section-id^=\"operation/\"]').length",
        timeout=30,
    )
    assert count >= 40
    upload = page.locator('[data-section-id="operation/upload_image"]')
    assert "multipart/form-data" in upload.inner_text()
    assert tried == [] and failed == []
    assert console.csp_violations() == []
    context.close()


def test_swagger_ui_renders_offline(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    context, page, console = new_page(browser, server)
    failure_context.append(page)
    tried = _offline(context, server)
    page.goto("/schema/swagger")
    count = wait_until(page, "() => document.querySelectorAll('.opblock').length", timeout=30)
    assert count >= 40
    assert page.locator("button.authorize").is_visible()
    assert tried == []
    assert console.csp_violations() == []
    context.close()
