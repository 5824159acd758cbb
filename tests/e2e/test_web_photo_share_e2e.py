"""A photo's share link in a real browser, as album links are: the lightbox chooses its expiry
and an optional password; a stranger gets the password form, then the photo; once revoked
(Account page) the page answers 410 Gone saying so, an unknown link 404, and the picture URL
the stranger had stops too."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
import pytest

from .conftest import Server, jpeg, new_page, shot, sign_up, unlabelled

pytestmark = pytest.mark.e2e

LINK_PASSWORD = "photo passphrase 7"
# Where the newcomer of report s28 found the share form's inputs off-screen to the right.
VIEWPORTS = [(1280, 900), (1600, 900), (390, 844)]


def in_view(page: Any, locator: Any) -> dict[str, float]:
    """Scroll ``locator`` into view and return its box, asserting it lies wholly inside the
    window (report s28: the share form's inputs sat at x=1297 of 1280, 22 px wide)."""
    locator.scroll_into_view_if_needed()
    box: dict[str, float] = locator.bounding_box()
    size = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (box, size)
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (box, size)
    return box


def click_and_type(page: Any, locator: Any, text: str) -> None:
    """As a mouse user does: click in the middle of the field, select what it holds, type."""
    box = in_view(page, locator)
    assert box["width"] >= 120, box
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)


def test_photo_link_with_expiry_and_password_then_revoked(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    client = sign_up(page, server, f"e2e-photo-share-{uuid.uuid4().hex[:8]}@example.com")
    data = jpeg((480, 320), ((200, 60, 30), (30, 60, 200)))
    sent = client.post(
        "/api/images?wait=true", files={"file": ("lighthouse.jpg", data, "image/jpeg")}
    )
    assert sent.status_code == 201, sent.text

    page.goto("/")
    page.get_by_role("button", name="Open lighthouse", exact=True).click()
    dialog = page.locator("[data-lightbox]")
    days = dialog.get_by_label("Valid for (days)")
    password = dialog.get_by_label("Password (optional, at least 8 characters)")
    # The form lies inside the lightbox, labels unclipped, on a desktop and on a phone.
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        for field in (days, password):
            assert in_view(page, field)["width"] >= 120, (width, field)
        in_view(page, dialog.locator("label[for='lightbox-share-password']"))
        shot(page, f"photo-share-form-{width}x{height}")
    page.set_viewport_size({"width": 1280, "height": 900})
    dialog.get_by_label("its title").check()
    click_and_type(page, days, "2")
    click_and_type(page, password, LINK_PASSWORD)
    assert (days.input_value(), password.input_value()) == ("2", LINK_PASSWORD)
    dialog.get_by_role("button", name="Share link").click()
    url_box = dialog.locator("[data-lb-share-url]")
    expect(url_box).to_have_value(re.compile(rf"^{re.escape(server.url)}/share/[\w-]+$"))
    expect(dialog.locator("[data-lb-share-lock]")).to_be_visible()
    share_url = url_box.input_value()
    token = share_url.rsplit("/", 1)[1]
    listed = client.get("/api/shares").json()
    assert len(listed) == 1 and listed[0]["password"] is True
    valid = dt.datetime.fromisoformat(listed[0]["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=1, hours=23) < valid <= dt.timedelta(days=2)
    assert unlabelled(page) == []
    page.keyboard.press("Escape")

    # A stranger: the password form, a wrong password, the right one, then the photo.
    stranger_ctx, stranger, stranger_console = new_page(browser, server)
    failure_context.append(stranger)
    stranger.goto(share_url)
    expect(stranger.locator("[data-unlock-form]")).to_be_visible()
    expect(stranger.locator("[data-shared]")).to_be_hidden()
    stranger.get_by_label("Password").fill("not the password")
    stranger.get_by_role("button", name="Open the photo").click()
    expect(stranger.locator("[data-unlock-error]")).to_have_text("Wrong password.")
    stranger.get_by_label("Password").fill(LINK_PASSWORD)
    stranger.get_by_role("button", name="Open the photo").click()
    expect(stranger.locator(".shared.loaded")).to_be_visible(timeout=30_000)
    expect(stranger.locator("[data-shared-img]")).to_have_attribute("alt", "lighthouse")
    picture = stranger.locator("[data-shared-img]").evaluate("(i) => i.currentSrc")
    assert f"/s/{token}/renditions/" in picture and "/media/" not in picture
    assert unlabelled(stranger) == []
    assert stranger_console.csp_violations() == []

    # Revoked on the Account page: the page says so with 410, and the picture URL stops.
    page.goto("/account")
    item = page.locator("[data-share-list] li", has_text="Photo “lighthouse” shared")
    expect(item).to_contain_text("password")
    page.once("dialog", lambda dialog: dialog.accept())  # Revoke asks first
    item.get_by_role("button", name="Revoke").click()
    expect(page.locator("[data-shares-empty]")).to_be_visible()
    answer = stranger.reload()
    assert answer is not None and answer.status == 410
    expect(stranger.locator("[data-share-ended]")).to_contain_text("revoked by its owner")
    assert stranger.evaluate(f"fetch({picture!r}).then((r) => r.status)") == 410
    assert httpx.get(f"{server.url}/s/{token}").status_code == 410
    missing = stranger.goto(f"{server.url}/share/no-such-link")
    assert missing is not None and missing.status == 404
    expect(stranger.locator("[data-share-ended]")).to_contain_text("No share link has this")
    assert console.csp_violations() == []
    for ctx in (context, stranger_ctx):
        ctx.close()
