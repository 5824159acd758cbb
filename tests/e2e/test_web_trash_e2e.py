"""Trash and bulk selection in a real browser: shift-click selects a range of the grid, the
toolbar moves the selection to the trash (gone from Photos at once), the Trash page lists it,
restores one and deletes the rest for good, and the API agrees at each step."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import Server, jpeg, new_page, sign_up

pytestmark = pytest.mark.e2e


def test_bulk_trash_restore_delete(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"e2e-trash-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 800})
    failure_context.append(page)
    try:
        client = sign_up(page, server, email)
        ids = []
        for i in range(4):
            photo = jpeg((320, 240), ((40 * i, 90, 200 - 40 * i), (10, 10, 10)))
            response = client.post(
                "/api/images?wait=true",
                files={"file": (f"p{i}.jpg", photo, "image/jpeg")},
                data={"title": f"p{i}"},
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])

        page.reload()
        tiles = page.locator(".tile")
        expect(tiles).to_have_count(4)
        # Newest first: p3, p2, p1, p0. Click p3, shift-click p1: three selected.
        page.locator(f".tile[data-id='{ids[3]}'] .tile-check").click()
        page.locator(f".tile[data-id='{ids[1]}'] .tile-check").click(modifiers=["Shift"])
        expect(page.locator("[data-selected-count]")).to_have_text("3 photos selected")
        expect(page.locator(".tile.selected")).to_have_count(3)
        page.get_by_role("button", name="Move to trash").click()
        expect(tiles).to_have_count(1)
        expect(page.locator(f".tile[data-id='{ids[0]}']")).to_have_count(1)
        expect(page.locator("[data-count]")).to_have_text("1 photo")  # follows the grid
        listed = client.get("/api/images").json()["items"]
        assert [item["id"] for item in listed] == [ids[0]]

        page.goto("/trash")
        expect(tiles).to_have_count(3)
        expect(page.get_by_text("stay here for 30 days")).to_be_visible()
        # A trashed photo offers Restore and Delete forever, not Favorite, Share or Edit
        # (user report 3): neither in its lightbox nor as a star on its tile.
        expect(page.locator(".tile-fav")).to_have_count(0)
        page.locator(f".tile[data-id='{ids[3]}'] .tile-open").click()
        lightbox = page.locator("[data-lightbox]")
        expect(lightbox.locator("[data-lb-title]")).to_have_text("p3")
        for hidden in ("[data-lb-favorite]", "[data-lb-share]", "[data-lb-edit-box]"):
            expect(lightbox.locator(hidden)).to_be_hidden()
        expect(lightbox.get_by_role("button", name="Delete forever")).to_be_visible()
        lightbox.get_by_role("button", name="Restore").click()
        expect(tiles).to_have_count(2)
        expect(lightbox.locator("[data-lb-title]")).to_have_text("p2")  # the next one
        page.keyboard.press("Escape")
        expect(lightbox).to_be_hidden()
        page.locator(f".tile[data-id='{ids[2]}'] .tile-check").check()
        page.get_by_role("button", name="Restore").click()
        expect(tiles).to_have_count(1)
        assert {item["id"] for item in client.get("/api/images").json()["items"]} == {
            ids[0],
            ids[2],
            ids[3],
        }
        # Back in Photos, the restored photo has its star and every action again.
        page.goto(f"/?photo={ids[3]}")
        expect(lightbox.locator("[data-lb-favorite]")).to_be_visible()
        expect(lightbox.locator("[data-lb-share]")).to_be_visible()
        expect(lightbox.locator("[data-lb-restore]")).to_be_hidden()
        expect(lightbox.get_by_role("button", name="Delete", exact=True)).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator(f".tile[data-id='{ids[3]}'] .tile-fav")).to_have_count(1)
        page.goto("/trash")

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Empty trash").click()
        expect(tiles).to_have_count(0)
        expect(page.get_by_text("The trash is empty.")).to_be_visible()
        expect(page.locator("[data-count]")).to_have_text("0 photos")
        assert client.get("/api/images", params={"trashed": "true"}).json()["items"] == []
        assert client.get(f"/api/images/{ids[1]}").status_code == 404
        assert console.errors == [], console.errors
    finally:
        context.close()
