"""The lightbox's Download button saves the photo under the name it had when it was uploaded
(non-ASCII included), not under the image's id."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import PASSWORD, Server, jpeg, new_page

pytestmark = pytest.mark.e2e


def test_download_keeps_the_original_file_name(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"e2e-dl-{uuid.uuid4().hex[:8]}@example.com"
    name = "Été à Zürich.jpg"
    client = server.api_user(email)
    data = jpeg((640, 480), ((10, 80, 160), (240, 200, 40)))
    uploaded = client.post("/api/images", files={"file": (name, data, "image/jpeg")})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["title"] == "Été à Zürich"

    context, page, console = new_page(browser, server)
    failure_context.append(page)
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")
    page.locator(".tile-open").first.click()
    dialog = page.locator("dialog[data-lightbox]")
    expect(dialog).to_have_attribute("open", "")
    with page.expect_download() as caught:
        dialog.get_by_role("link", name="Download").click()
    download = caught.value
    assert download.suggested_filename == name
    assert download.path().read_bytes() == data
    assert console.csp_violations() == []
    context.close()
