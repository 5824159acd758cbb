"""Direct upload from the browser to S3 with a presigned POST, and pictures shown through the
presigned GET redirects, against moto's S3 server over HTTPS (the page's CSP allows https:
origins for uploads and images; a self-signed certificate stands in for AWS's)."""

from __future__ import annotations

import uuid
from contextlib import closing
from typing import Any

import pytest

from .conftest import PASSWORD, Server, jpeg, new_page, shot

pytestmark = pytest.mark.e2e


def test_upload_straight_to_s3(browser: Any, s3_server: Server, failure_context: list[Any]) -> None:
    from playwright.sync_api import expect

    server, endpoint = s3_server, s3_server.s3_endpoint
    email = f"s3-{uuid.uuid4().hex[:8]}@example.com"
    with closing(server.api_user(email)):
        pass
    context, page, console = new_page(
        browser, server, viewport={"width": 1280, "height": 800}, ignore_https_errors=True
    )
    failure_context.append(page)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    page.goto("/upload")
    page.wait_for_url("**/login?next=*")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/upload")
    picture = jpeg((1200, 800), ((10, 120, 60), (240, 240, 200)))
    page.get_by_label("Choose files").set_input_files(
        files=[{"name": "meadow.jpg", "mimeType": "image/jpeg", "buffer": picture}]
    )
    expect(page.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
    # The bytes went to the bucket, not through Salon.
    assert any(url.startswith(f"{endpoint}/") for url in posts), posts
    assert not any(
        url.startswith(f"{server.url}/api/uploads/") and url.endswith("/file") for url in posts
    )

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Photos").click()
    expect(page.locator(".tile")).to_have_count(1)
    expect(page.locator(".tile-frame.loaded")).to_have_count(1, timeout=30_000)
    src = page.locator(".tile-img").evaluate("(img) => img.currentSrc")
    assert src.startswith(f"{server.url}/api/images/"), src  # redirected from here to S3
    shot(page, "s3-01-grid")
    assert not console.csp_violations(), console.errors
    context.close()
