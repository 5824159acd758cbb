"""The gallery at phone width (grid reflow, menu, infinite scroll on the keyset cursor, the
lightbox) and the NASA APOD browser against a fake APOD API."""

from __future__ import annotations

import re
import uuid
from contextlib import closing
from typing import Any

import pytest

from .conftest import PASSWORD, Server, jpeg, listing_requests, new_page, shot, unlabelled

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def _sign_in(page: Any, server: Server, email: str, target: str) -> None:
    """Open ``target`` without a session, sign in on the page it redirects to, come back."""
    page.goto(target)
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}{target}")


def test_phone_width(browser: Any, server: Server, failure_context: list[Any]) -> None:
    from playwright.sync_api import expect

    email = f"phone-{uuid.uuid4().hex[:8]}@example.com"
    with closing(server.api_user(email)) as client:
        for index, colors in enumerate(
            [((255, 0, 0), (0, 0, 0)), ((0, 255, 0), (0, 0, 0)), ((0, 0, 255), (0, 0, 0))]
        ):
            files = {"file": (f"p{index}.jpg", jpeg((640, 480), colors), "image/jpeg")}
            client.post("/api/images", params={"wait": "true"}, files=files).raise_for_status()

    context, page, console = new_page(
        browser, server, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    failure_context.append(page)
    pages = listing_requests(page)

    # One photo per page: the grid fills itself by following next_cursor as the sentinel shows.
    _sign_in(page, server, email, "/?limit=1")
    expect(page.locator(".tile")).to_have_count(3, timeout=30_000)
    assert len(pages) >= 3, pages
    assert "cursor" not in pages[0]
    assert all(p["limit"] == ["1"] and p["cursor"] for p in pages[1:3]), pages
    expect(page.locator("[data-count]")).to_have_text("3 photos")

    # The grid reflows: several columns of small tiles and nothing wider than the screen.
    boxes = [tile.bounding_box() for tile in page.locator(".tile").all()]
    assert all(box and box["width"] < PHONE["width"] / 2 for box in boxes), boxes
    columns = {round(box["x"]) for box in boxes if box}
    assert len(columns) >= 2, boxes
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The navigation folds behind a Menu button and still works.
    menu = page.get_by_role("button", name="Menu")
    favorites = page.get_by_role("navigation", name="Main").get_by_role("link", name="Favorites")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(favorites).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(favorites).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    shot(page, "phone-01-menu")
    menu.click()

    # The lightbox fits the screen and its controls are reachable.
    page.locator(".tile-open").first.click()
    dialog = page.locator("dialog[data-lightbox]")
    expect(dialog).to_have_attribute("open", "")
    close = dialog.get_by_role("button", name="Close")
    box = close.bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"], box
    dialog.get_by_role("button", name="Next photo").click()
    expect(dialog.locator("[data-lb-position]")).to_have_text("Photo 2 of 3")
    shot(page, "phone-02-lightbox")
    close.click()
    expect(dialog).not_to_have_attribute("open", "")

    menu.click()
    favorites.click()
    page.wait_for_url(f"{server.url}/favorites")
    expect(page.locator("[data-empty]")).to_be_visible()
    shot(page, "phone-03-favorites")

    # Upload from the phone's file picker (the <input type=file> behind "Choose files").
    menu.click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
    page.get_by_label("Choose files").set_input_files(
        files=[
            {
                "name": "phone.jpg",
                "mimeType": "image/jpeg",
                "buffer": jpeg((480, 640), ((9, 9, 9), (250, 250, 250))),
            }
        ]
    )
    expect(page.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "phone-04-upload")
    assert not console.csp_violations(), console.errors
    context.close()


def test_apod_browser(browser: Any, server: Server, failure_context: list[Any]) -> None:
    from playwright.sync_api import expect

    if server.apod is None:
        pytest.skip("salon-nasa-apod is not installed: no APOD source to browse")
    email = f"apod-{uuid.uuid4().hex[:8]}@example.com"
    server.api_user(email).close()
    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    # Stale session cookies (say, from before a server's key changed) end on the sign-in page,
    # once, rather than bouncing between it and the gallery.
    context.add_cookies(
        [
            {"name": name, "value": "stale", "url": server.url}
            for name in ("salon_access", "salon_csrf")
        ]
    )
    _sign_in(page, server, email, "/apod")

    # A range holding an image and a video: both listed, only the image importable.
    page.get_by_label("A date range").check()
    page.get_by_label("From").fill("2024-03-01")
    page.get_by_label("To").fill("2024-03-02")
    page.get_by_role("button", name="Browse").click()
    expect(page.locator(".apod-entry")).to_have_count(2)
    assert not unlabelled(page)
    expect(page.locator("[data-apod-status]")).to_have_text("2 entries, 1 importable.")
    expect(page.get_by_text("Not an image: nothing to import.")).to_have_count(1)
    page.get_by_role("button", name="Import Fake Nebula 2024-03-01").click()
    job = page.locator(".job")
    expect(job).to_have_count(1)
    expect(job).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(job.locator("progress")).to_have_js_property("value", 100)
    shot(page, "apod-01-imported")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Photos").click()
    expect(page.locator(".tile")).to_have_count(1)
    expect(page.locator(".tile-frame.loaded")).to_have_count(1, timeout=30_000)
    # The fake API serves its pictures over plain http, which the CSP (img-src https:) refuses
    # for the previews; real APOD pictures are https. Nothing else may be refused.
    origin = server.apod.origin
    others = [v for v in console.csp_violations() if origin not in v]
    assert not others, console.errors
    context.close()
