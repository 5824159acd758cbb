"""Capture times with a known offset read as the camera's local time, whoever looks: a photo
taken at 00:30 on 1 January 2024 at +01:00 (23:30 UTC on 31 December) shows 12:30 AM in a New
York browser, as Google Photos shows it; an edit in the lightbox is typed and kept at that
offset. Its place on the timeline is its UTC day, as "Jump to month" (the server's UTC months)
lists it: "December 2023 > Sunday, December 31" in both, so the two always agree."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from .conftest import Server, jpeg, new_page, sign_up

pytestmark = pytest.mark.e2e


def test_offset_photo_shows_the_cameras_local_day_and_time(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(
        browser, server, locale="en-US", timezone_id="America/New_York"
    )
    failure_context.append(page)
    client = sign_up(page, server, f"e2e-zone-{uuid.uuid4().hex[:8]}@example.com")
    data = jpeg((320, 240), ((30, 60, 90), (200, 180, 60)), "2024:01:01 00:30:00", "+01:00")
    sent = client.post("/api/images?wait=true", files={"file": ("newyear.jpg", data, "image/jpeg")})
    assert sent.status_code == 201, sent.text
    image = client.patch(f"/api/images/{sent.json()['id']}", json={"title": ""}).json()
    assert image["taken_at"].startswith("2023-12-31T23:30:00"), image["taken_at"]
    assert image["metadata"]["taken_at_zone"] == "+01:00"

    spring = jpeg((320, 240), ((90, 60, 30), (60, 180, 200)), "2024:03:10 12:00:00")
    files = {"file": ("spring.jpg", spring, "image/jpeg")}
    sent = client.post("/api/images?wait=true", files=files)
    assert sent.status_code == 201, sent.text

    page.goto("/")
    heads = page.locator(".tl-month-head")
    expect(heads).to_have_text(["March 2024", "December 2023"])
    expect(page.locator(".tl-day-head")).to_have_text(["Sunday, March 10", "Sunday, December 31"])
    # The month picker and the headings name the same months, each with its photo.
    options = page.locator("[data-jump-month] option")
    expect(options).to_have_text(["March 2024 (1 photo)", "December 2023 (1 photo)"])
    december = page.locator("[data-month='2023-12']")
    expect(december.get_by_role("button", name="Open Photo taken Jan 1, 2024")).to_have_count(1)
    tile = page.get_by_role("button", name="Open Photo taken Jan 1, 2024", exact=True)
    tile.click()
    dialog = page.locator("[data-lightbox]")
    expect(dialog.locator("[data-lb-taken]")).to_have_text("Jan 1, 2024, 12:30 AM")

    # Editing types the camera's local time and keeps its offset.
    dialog.get_by_text("Edit title, description and date").click()
    taken_input = dialog.get_by_label("Date taken (local time, UTC+01:00)")
    assert taken_input.input_value().startswith("2024-01-01T00:30")
    taken_input.fill("2024-01-01T01:45:00")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("[data-toast]")).to_have_text("Saved")
    expect(dialog.locator("[data-lb-taken]")).to_have_text("Jan 1, 2024, 1:45 AM")
    saved = client.get(f"/api/images/{image['id']}").json()
    assert saved["taken_at"].startswith("2024-01-01T00:45:00"), saved["taken_at"]
    assert saved["metadata"]["taken_at_zone"] == "+01:00"
    assert console.csp_violations() == []
    context.close()
