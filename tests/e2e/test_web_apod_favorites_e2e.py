"""APOD favorites in one step in a real browser, against the fake APOD API: the star imports the
entry and favorites it, the browser shows it starred on the next visit, un-starring unfavorites,
and starring again imports nothing twice (the API agrees at each step)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import Server, new_page, sign_up, unlabelled

pytestmark = pytest.mark.e2e

TITLE = "Fake Nebula 2024-03-01"


def test_star_imports_once_and_favorites(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    if server.apod is None:
        pytest.skip("salon-nasa-apod is not installed: no APOD source to browse")
    email = f"e2e-star-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    try:
        client = sign_up(page, server, email)

        def browse() -> Any:
            page.goto("/apod")
            page.get_by_label("Date", exact=True).fill("2024-03-01")
            page.get_by_role("button", name="Browse").click()
            expect(page.locator(".apod-entry")).to_have_count(1)
            return page.get_by_role("button", name=f"Favorite {TITLE}")

        star = browse()
        expect(star).to_have_attribute("aria-pressed", "false")
        assert unlabelled(page) == []
        star.click()
        expect(page.locator(".job")).to_have_attribute("data-status", "succeeded", timeout=60_000)
        expect(star).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_role("button", name=f"Imported {TITLE}")).to_be_disabled()
        favorites = client.get("/api/images", params={"favorite": "true"}).json()["items"]
        assert [image["title"] for image in favorites] == [TITLE]
        image_id = favorites[0]["id"]

        # The next visit shows the entry starred, without importing anything.
        star = browse()
        expect(star).to_have_attribute("aria-pressed", "true")
        star.click()
        expect(star).to_have_attribute("aria-pressed", "false")
        assert client.get(f"/api/images/{image_id}").json()["favorite"] is False
        star.click()
        expect(star).to_have_attribute("aria-pressed", "true")
        assert client.get(f"/api/images/{image_id}").json()["favorite"] is True
        expect(page.locator(".job")).to_have_count(0)
        assert [i["id"] for i in client.get("/api/images").json()["items"]] == [image_id]
        # The fake API serves its pictures over plain http, which the CSP refuses for the
        # previews; nothing else may fail.
        origin = server.apod.origin
        assert [e for e in console.errors if origin not in e] == [], console.errors
    finally:
        context.close()


def test_the_date_starts_at_apods_today(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    """Browse works at once: the date field holds APOD's today, which is US Eastern time's
    (at 02:00 UTC on 11 March it is still 10 March there, the fake API's today)."""
    from playwright.sync_api import expect

    if server.apod is None:
        pytest.skip("salon-nasa-apod is not installed: no APOD source to browse")
    context, page, _console = new_page(browser, server)
    failure_context.append(page)
    try:
        page.clock.set_fixed_time("2024-03-11T02:00:00Z")
        sign_up(page, server, f"e2e-today-{uuid.uuid4().hex[:8]}@example.com")
        page.goto("/apod")
        date = page.get_by_label("Date", exact=True)
        expect(date).to_have_value("2024-03-10")
        assert date.get_attribute("max") == "2024-03-10"
        page.get_by_role("button", name="Browse").click()
        expect(page.locator(".apod-entry")).to_have_count(1)
        expect(page.locator(".apod-entry")).to_have_attribute("data-date", "2024-03-10")
        expect(page.locator("[data-form-error]")).to_be_hidden()
    finally:
        context.close()
