"""The Photos page is a timeline, in a real browser: photos by date taken (upload time when
unknown) under month and day headings, in justified rows that keep each photo's shape and fill
the width; keyboard and lightbox follow the timeline's order; "Jump to month" scrolls to a
month on the page or starts the timeline there (only its pages are asked for), and "Back to the
newest" returns; the count stays the whole library's."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from .conftest import Server, jpeg, listing_requests, new_page, shot, sign_up, unlabelled

pytestmark = pytest.mark.e2e

# (title, size, EXIF date or "" for none): uploaded in this order.
PHOTOS = [
    ("winter", (300, 300), "2019:12:31 23:00:00"),
    ("spring", (320, 240), "2020:03:01 09:00:00"),
    ("harbour", (400, 300), "2021:07:02 08:00:00"),
    ("panorama", (900, 300), "2021:07:14 10:00:00"),
    ("tower", (200, 400), "2021:07:14 12:00:00"),
    ("screenshot", (320, 240), ""),
    *[(f"may {day}", (360, 240), f"2022:05:{day:02d} 12:00:00") for day in range(1, 13)],
    # One day with photos enough for full rows: (width, height) of several shapes.
    *[
        (f"row {n}", size, f"2023:01:15 1{n}:00:00")
        for n, size in enumerate([(450, 300), (150, 300), (900, 300), (400, 300), (300, 300)])
    ],
    ("row 5", (450, 300), "2023:01:15 15:00:00"),
]


def _upload(client: httpx.Client, n: int, title: str, size: tuple[int, int], taken: str) -> str:
    colors = ((n * 13 % 256, 120, 200), (240, n * 29 % 256, 40))
    response = client.post(
        "/api/images?wait=true",
        files={"file": (f"{title}.jpg", jpeg(size, colors, taken=taken), "image/jpeg")},
        data={"title": title},
    )
    assert response.status_code == 201, response.text
    image_id: str = response.json()["id"]
    return image_id


def _titles(page: Any) -> list[str]:
    titles: list[str] = page.locator(".tile-img").evaluate_all("(imgs) => imgs.map((i) => i.alt)")
    return titles


def test_timeline_headings_justified_rows_and_jump_to_month(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"e2e-timeline-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(
        browser,
        server,
        viewport={"width": 1280, "height": 700},
        locale="en-US",
        timezone_id="UTC",
    )
    failure_context.append(page)
    try:
        client = sign_up(page, server, email)
        ids = {
            title: _upload(client, n, title, size, t) for n, (title, size, t) in enumerate(PHOTOS)
        }
        asked = listing_requests(page)

        # Everything at once first: headings and order.
        page.goto("/?limit=100")
        tiles = page.locator(".tile")
        expect(tiles).to_have_count(len(PHOTOS))
        assert all(query.get("order") == ["taken"] for query in asked), asked
        row = [f"row {n}" for n in range(5, -1, -1)]
        may = [f"may {day}" for day in range(12, 0, -1)]
        tail = ["tower", "panorama", "harbour", "spring", "winter"]
        assert _titles(page) == ["screenshot", *row, *may, *tail]
        months = page.locator(".tl-month-head").all_inner_texts()
        expected = ["January 2023", "May 2022", "July 2021", "March 2020", "December 2019"]
        assert months[1:] == expected, months
        july = page.locator("[data-month='2021-07'] .tl-day-head").all_inner_texts()
        assert july == ["Wednesday, July 14", "Friday, July 2"], july
        assert unlabelled(page) == []

        # Justified rows: each tile keeps its photo's shape; a full row fills the day's width.
        boxes = tiles.evaluate_all(
            """(tiles) => tiles.map((t) => {
                const r = t.getBoundingClientRect();
                const list = t.parentElement.getBoundingClientRect();
                return {title: t.querySelector('img').alt, x: r.x, y: r.y, w: r.width,
                        h: r.height, left: list.x, right: list.right};
            })"""
        )
        shapes = {title: size[0] / size[1] for title, size, _t in PHOTOS}
        for box in boxes:
            assert abs(box["w"] / box["h"] - shapes[box["title"]]) < 0.03, box
        rows: dict[int, list[dict[str, Any]]] = {}
        for box in boxes:
            if box["title"].startswith("row"):
                rows.setdefault(round(box["y"]), []).append(box)
        assert len(rows) >= 2, rows
        first = rows[min(rows)]
        # The first row of that day is full: edge to edge, one height for all its photos.
        assert first[0]["x"] == pytest.approx(first[0]["left"], abs=1), first
        assert first[-1]["x"] + first[-1]["w"] == pytest.approx(first[-1]["right"], abs=2), first
        assert max(b["h"] for b in first) - min(b["h"] for b in first) < 1, first
        # A day's last row keeps the target height (200 px here), left-aligned.
        may_days = [box for box in boxes if box["title"].startswith("may")]
        assert all(box["h"] == pytest.approx(200, abs=1) for box in may_days)
        assert all(box["x"] == pytest.approx(box["left"], abs=1) for box in may_days)
        shot(page, "timeline-all")

        # Keyboard: the lightbox walks the timeline's order.
        page.locator(f".tile[data-id='{ids['tower']}'] .tile-open").focus()
        page.keyboard.press("Enter")
        dialog = page.locator("dialog[data-lightbox]")
        expect(dialog.locator("[data-lb-title]")).to_have_text("tower")
        page.keyboard.press("ArrowRight")
        expect(dialog.locator("[data-lb-title]")).to_have_text("panorama")
        page.keyboard.press("Escape")
        expect(dialog).not_to_have_attribute("open", "")
        # Closing goes Back (off ?photo=): a goto before that lands is aborted by it.
        expect(page).to_have_url(f"{server.url}/?limit=100")

        # Three photos a page: December 2019 is not loaded until asked for.
        asked.clear()
        page.goto("/?limit=3")
        expect(tiles.first).to_be_visible()
        # Only three loaded, but the header and the lightbox count the whole library (its
        # total from GET /api/images/months), not "3+" (user report 8).
        expect(page.locator("[data-count]")).to_have_text(f"{len(PHOTOS)} photos")
        tiles.first.locator(".tile-open").click()
        expect(dialog.locator("[data-lb-position]")).to_have_text(f"Photo 1 of {len(PHOTOS)}")
        page.keyboard.press("Escape")
        expect(dialog).not_to_have_attribute("open", "")
        expect(page.locator("#month-2019-12")).to_have_count(0)
        jump = page.get_by_label("Jump to month")
        expect(jump.locator("option")).to_have_count(6)
        expect(jump.locator("option").first).to_contain_text("(1 photo)")
        jump.select_option(label="December 2019 (1 photo)")
        asked.clear()
        page.get_by_role("button", name="Go").click()
        heading = page.get_by_role("heading", name="December 2019")
        expect(heading).to_be_focused()
        expect(heading).to_be_in_viewport()
        expect(page.locator(f".tile[data-id='{ids['winter']}']")).to_be_visible()
        assert asked and all("cursor" in query for query in asked), asked
        assert _titles(page) == ["winter"]
        expect(page.locator("[data-count]")).to_have_text(f"{len(PHOTOS)} photos")
        shot(page, "timeline-jumped")

        # A month already on the page is only scrolled to.
        asked.clear()
        newest = page.get_by_role("button", name="Back to the newest")
        newest.click()
        expect(page.locator(f".tile[data-id='{ids['screenshot']}']")).to_be_visible()
        expect(newest).to_be_hidden()
        assert asked and "cursor" not in asked[0], asked
        jump.select_option("2022-05")
        page.get_by_role("button", name="Go").click()
        expect(page.get_by_role("heading", name="May 2022")).to_be_focused()
        assert _titles(page)[0] == "screenshot"

        # A new date moves a photo along the timeline, and the month list's counts follow.
        page.locator(f".tile[data-id='{ids['screenshot']}'] .tile-check").check()
        page.get_by_text("Change date taken…").click()
        page.get_by_label("New date taken (your time zone)").fill("2019-12-31T10:00:00")
        page.get_by_role("button", name="Set date").click()
        expect(page.locator("[data-toast]")).to_have_text("Date set on 1")
        expect(jump.locator("option[value='2019-12']")).to_have_text("December 2019 (2 photos)")
        assert _titles(page)[0] == "row 5"
        jump.select_option("2019-12")
        page.get_by_role("button", name="Go").click()
        expect(page.get_by_role("heading", name="December 2019")).to_be_focused()
        december = page.locator("[data-month='2019-12'] .tile-img")
        expect(december).to_have_count(2)
        assert december.evaluate_all("(imgs) => imgs.map((i) => i.alt)") == ["winter", "screenshot"]
        assert console.errors == [], console.errors
    finally:
        context.close()
