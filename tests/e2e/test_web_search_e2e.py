"""Search in a real browser: a photo is found by a word of its description and by the month it
was taken; the search is the page's URL (reload and Back keep it); a search with no results
says so; a description edited through the API is found at once; another user's photo never."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from .conftest import Server, jpeg, new_page, shot, sign_up, unlabelled

pytestmark = pytest.mark.e2e


def _upload(client: httpx.Client, name: str, taken: str, colors: Any) -> str:
    response = client.post(
        "/api/images?wait=true",
        files={"file": (f"{name}.jpg", jpeg((320, 240), colors, taken=taken), "image/jpeg")},
        data={"title": name},
    )
    assert response.status_code == 201, response.text
    image_id: str = response.json()["id"]
    return image_id


def test_find_by_description_word_and_by_month(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"e2e-search-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 800})
    failure_context.append(page)
    try:
        client = sign_up(page, server, email)
        beach = _upload(client, "Beach", "2021:07:14 10:00:00", ((250, 200, 90), (20, 90, 200)))
        garden = _upload(client, "Garden", "2021:07:30 18:00:00", ((30, 160, 60), (9, 9, 9)))
        city = _upload(client, "City", "2021:08:02 22:15:00", ((40, 40, 60), (200, 200, 0)))
        described = client.patch(
            f"/api/images/{beach}", json={"description": "Sandcastles at low tide"}
        )
        assert described.status_code == 200, described.text
        # Another user's photo with the same word is never found.
        other = server.api_user(f"e2e-search-other-{uuid.uuid4().hex[:8]}@example.com")
        _upload(other, "Sandcastles", "2021:07:14 11:00:00", ((1, 2, 3), (4, 5, 6)))

        page.reload()
        tiles = page.locator(".tile")
        expect(tiles).to_have_count(3)
        search = page.get_by_role("searchbox", name="Search")
        month = page.get_by_label("Month taken")
        assert unlabelled(page) == []

        # A word of the description.
        search.fill("sandcastles")
        search.press("Enter")
        page.wait_for_url("**/?q=sandcastles")
        expect(tiles).to_have_count(1)
        expect(page.locator(f".tile[data-id='{beach}']")).to_have_count(1)
        expect(search).to_have_value("sandcastles")

        # The month taken.
        search.fill("")
        month.fill("2021-07")
        page.get_by_role("button", name="Search", exact=True).click()
        page.wait_for_url("**/?month=2021-07")
        expect(tiles).to_have_count(2)
        assert {t.get_attribute("data-id") for t in tiles.all()} == {beach, garden}
        shot(page, "search-month")

        # Both, with nothing to find: the page says so and offers to clear.
        search.fill("city")
        search.press("Enter")
        page.wait_for_url("**/?q=city&month=2021-07")
        expect(tiles).to_have_count(0)
        expect(page.get_by_text("No photos match")).to_be_visible()
        expect(page.locator("[data-search-summary]")).to_contain_text("“city”")
        shot(page, "search-none")

        # The URL is the search: Back returns to the month's results, reload keeps them.
        page.go_back()
        page.wait_for_url("**/?month=2021-07")
        expect(tiles).to_have_count(2)
        expect(month).to_have_value("2021-07")
        page.reload()
        expect(tiles).to_have_count(2)

        # A range of days taken: from the 20th of July to the 2nd of August (inclusive).
        page.goto("/")
        page.get_by_label("Taken from").fill("2021-07-20")
        page.get_by_label("Taken until").fill("2021-08-02")
        page.get_by_role("button", name="Search", exact=True).click()
        page.wait_for_url("**/?taken_from=2021-07-20&taken_to=2021-08-02")
        expect(tiles).to_have_count(2)
        assert {t.get_attribute("data-id") for t in tiles.all()} == {garden, city}
        expect(page.locator("[data-search-summary]")).to_contain_text("taken from 2021-07-20")
        expect(page.get_by_label("Taken until")).to_have_value("2021-08-02")

        # An edit is found at once (the server's page cache must not answer the old search).
        page.goto("/?q=tide")
        expect(tiles).to_have_count(1)
        client.patch(f"/api/images/{city}", json={"description": "Neon at high tide"})
        page.reload()
        expect(tiles).to_have_count(2)

        page.get_by_role("link", name="Clear search").first.click()
        page.wait_for_url(f"{server.url}/")
        expect(tiles).to_have_count(3)
        expect(search).to_have_value("")
        assert console.errors == [], console.errors
    finally:
        context.close()
