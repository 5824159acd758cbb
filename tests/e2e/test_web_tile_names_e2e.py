"""Every photo tile's open button has an accessible name, found with get_by_role as a screen
reader user would: the photo's title, else "Photo taken <date>" (its capture date), else
"Photo uploaded <date>"; a renamed photo's button follows its new title at once.

Capture times in a browser far from UTC (New York): an EXIF time without an offset is the
camera's wall clock and shows as written (01:30 stays 01:30 on 2 March, not 20:30 the day
before); one with OffsetTimeOriginal shows at that offset, the camera's local time (10:00
on 4 July, not 21:00 on 3 July in New York)."""

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

    context, page, console = new_page(
        browser, server, locale="en-GB", timezone_id="America/New_York"
    )
    failure_context.append(page)
    client = sign_up(page, server, f"e2e-names-{uuid.uuid4().hex[:8]}@example.com")
    ids = {}
    photos = (
        ("harbour", "2021:07:04 10:00:00", "+09:00"),  # 01:00 UTC, 21:00 on 3 July in New York
        ("untitled", "2019:03:02 01:30:00", ""),  # no offset: the camera's 01:30 on 2 March
    )
    for name, taken, offset in photos:
        data = jpeg((320, 240), ((20, 90, 160), (240, 200, 40)), taken=taken, offset=offset)
        sent = client.post(
            "/api/images?wait=true", files={"file": (f"{name}.jpg", data, "image/jpeg")}
        )
        assert sent.status_code == 201, sent.text
        ids[name] = sent.json()["id"]
    # No title: the button is named after the capture date.
    cleared = client.patch(f"/api/images/{ids['untitled']}", json={"title": ""})
    assert cleared.status_code == 200 and cleared.json()["title"] == "", cleared.text
    assert cleared.json()["metadata"]["taken_at_zone"] == "local"

    page.goto("/")
    harbour = page.get_by_role("button", name="Open harbour", exact=True)
    dated = page.get_by_role("button", name="Open Photo taken 2 Mar 2019", exact=True)
    expect(harbour).to_have_count(1)
    expect(dated).to_have_count(1)
    assert harbour.evaluate("(b) => b.closest('.tile').dataset.id") == ids["harbour"]
    assert unlabelled(page) == []

    # The moment with its offset, at that offset: the camera's local time.
    harbour.click()
    dialog = page.locator("[data-lightbox]")
    expect(dialog.locator("[data-lb-taken]")).to_have_text("4 Jul 2021, 10:00")
    page.keyboard.press("Escape")

    # Opening by that name opens that photo: the wall-clock time as the camera wrote it.
    dated.click()
    expect(dialog.locator("[data-lb-title]")).to_have_text("Photo taken 2 Mar 2019")
    expect(dialog.locator("[data-lb-taken]")).to_have_text("2 Mar 2019, 01:30")
    dialog.get_by_text("Edit title, description and date").click()
    taken_input = dialog.get_by_label("Date taken (as on the camera)")
    assert taken_input.input_value().startswith("2019-03-02T01:30")
    # Renaming it in the lightbox renames the button.
    dialog.get_by_label("Title", exact=True).fill("Market day")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("[data-toast]")).to_have_text("Saved")
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Open Market day", exact=True)).to_have_count(1)
    saved = client.get(f"/api/images/{ids['untitled']}").json()
    assert saved["taken_at"].startswith("2019-03-02T01:30:00")  # the date was left alone
    assert saved["metadata"]["taken_at_zone"] == "local"
    assert console.csp_violations() == []
    context.close()
