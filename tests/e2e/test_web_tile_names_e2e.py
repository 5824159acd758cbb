"""Every photo tile's open button has an accessible name, found with get_by_role as a screen
reader user would: the photo's title, else "Photo taken <date>" (its capture date), else
"Photo uploaded <date>"; a renamed photo's button follows its new title at once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import Server, jpeg, new_page, sign_up, unlabelled

pytestmark = pytest.mark.e2e


def test_tile_buttons_are_named_after_their_photos(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(browser, server, locale="en-GB", timezone_id="UTC")
    failure_context.append(page)
    client = sign_up(page, server, f"e2e-names-{uuid.uuid4().hex[:8]}@example.com")
    ids = {}
    for name, taken in (("harbour", "2021:07:04 10:00:00"), ("untitled", "2019:03:02 08:30:00")):
        data = jpeg((320, 240), ((20, 90, 160), (240, 200, 40)), taken=taken)
        sent = client.post(
            "/api/images?wait=true", files={"file": (f"{name}.jpg", data, "image/jpeg")}
        )
        assert sent.status_code == 201, sent.text
        ids[name] = sent.json()["id"]
    # No title: the button is named after the capture date.
    cleared = client.patch(f"/api/images/{ids['untitled']}", json={"title": ""})
    assert cleared.status_code == 200 and cleared.json()["title"] == "", cleared.text

    page.goto("/")
    harbour = page.get_by_role("button", name="Open harbour", exact=True)
    dated = page.get_by_role("button", name="Open Photo taken 2 Mar 2019", exact=True)
    expect(harbour).to_have_count(1)
    expect(dated).to_have_count(1)
    assert harbour.evaluate("(b) => b.closest('.tile').dataset.id") == ids["harbour"]
    assert unlabelled(page) == []

    # Opening by that name opens that photo; renaming it in the lightbox renames the button.
    dated.click()
    dialog = page.locator("[data-lightbox]")
    expect(dialog.locator("[data-lb-title]")).to_have_text("Photo taken 2 Mar 2019")
    dialog.get_by_text("Edit title, description and date").click()
    dialog.get_by_label("Title", exact=True).fill("Market day")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("[data-toast]")).to_have_text("Saved")
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Open Market day", exact=True)).to_have_count(1)
    assert console.csp_violations() == []
    context.close()
