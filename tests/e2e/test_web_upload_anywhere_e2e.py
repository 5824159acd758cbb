"""Upload anywhere in a real browser: photos dropped on Photos appear first in the grid with a
progress panel and a link to them; dropped on an album page they join the album; dropped on
the albums list they go to the library; a failed upload is retried from its row (the panel)
and from "Retry failed" (the Upload page). The API agrees at each step."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from .conftest import Server, jpeg, new_page, sign_up, unlabelled

pytestmark = pytest.mark.e2e

# Drag files over the page (not a drop zone) and drop them on the body.
DROP_ON_PAGE = """([files, drop]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, { type: "image/jpeg" }));
  }
  const target = document.querySelector("main") || document.body;
  for (const type of drop ? ["dragover", "drop"] : ["dragenter", "dragover"]) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    target.dispatchEvent(new DragEvent(type, init));
  }
}"""


def photo(name: str, shade: int) -> dict[str, str]:
    data = jpeg((480, 320), ((shade, 80, 200 - shade), (20, 20, 20)))
    return {"name": name, "b64": base64.b64encode(data).decode()}


def drop(page: Any, files: list[dict[str, str]]) -> None:
    page.evaluate(DROP_ON_PAGE, [files, False])
    page.evaluate(DROP_ON_PAGE, [files, True])


def test_drop_anywhere_with_progress_retry_and_a_link(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"e2e-drop-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    try:
        client = sign_up(page, server, email)

        # Photos: the hint shows while files are over the page; the drop uploads them.
        expect(page.locator("[data-empty]")).to_be_visible()
        page.evaluate(DROP_ON_PAGE, [[photo("a.jpg", 10)], False])
        expect(page.locator("[data-drop-overlay]")).to_be_visible()
        expect(page.locator("[data-drop-overlay]")).to_have_text(
            "Drop photos to upload them to your photos"
        )
        page.evaluate(DROP_ON_PAGE, [[photo("a.jpg", 10), photo("b.jpg", 90)], True])
        expect(page.locator("[data-drop-overlay]")).to_be_hidden()
        panel = page.get_by_role("complementary", name="Uploads")
        expect(panel).to_be_visible()
        expect(panel.locator(".upload[data-status='done']")).to_have_count(2, timeout=60_000)
        expect(panel.locator("[data-upload-summary]")).to_have_text("Finished: 2 uploaded.")
        link = panel.get_by_role("link", name="See your photos")
        expect(link).to_have_attribute("href", "/")
        expect(page.locator(".tile")).to_have_count(2)  # in the grid without a reload
        expect(page.locator("[data-count]")).to_have_text("2 photos")
        assert unlabelled(page) == []
        first_two = {image["id"] for image in client.get("/api/images").json()["items"]}
        assert len(first_two) == 2

        # An album page: the drop goes into the album; the first try fails and is retried
        # from its row.
        album = client.post("/api/albums", json={"name": "Drops"}).json()
        page.goto(f"/albums/{album['id']}")
        failures = {"left": 1}

        def refuse_once(route: Any) -> None:
            if route.request.method == "POST" and failures["left"]:
                failures["left"] -= 1
                route.fulfill(
                    status=503,
                    content_type="application/json",
                    body=json.dumps({"status_code": 503, "detail": "storage is busy"}),
                )
            else:
                route.continue_()

        page.route("**/api/uploads", refuse_once)
        drop(page, [photo("c.jpg", 170)])
        panel = page.get_by_role("complementary", name="Uploads")
        failed = panel.locator(".upload[data-status='failed']")
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("Failed: storage is busy")
        expect(panel.locator("[data-upload-summary]")).to_have_text(
            "Finished: 0 uploaded, 1 failed."
        )
        panel.get_by_role("button", name="Retry c.jpg").click()
        expect(panel.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
        expect(panel.locator("[data-upload-summary]")).to_have_text("Finished: 1 uploaded.")
        expect(panel.get_by_role("link", name="See the album")).to_have_attribute(
            "href", f"/albums/{album['id']}"
        )
        expect(page.locator(".tile")).to_have_count(1)
        in_album = client.get("/api/images", params={"album_id": album["id"]}).json()["items"]
        assert len(in_album) == 1 and in_album[0]["id"] not in first_two, in_album
        page.unroute("**/api/uploads")

        # The albums list takes a drop too (into the library).
        page.goto("/albums")
        drop(page, [photo("d.jpg", 230)])
        panel = page.get_by_role("complementary", name="Uploads")
        expect(panel.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
        expect(panel.get_by_role("link", name="See your photos")).to_be_visible()
        assert len(client.get("/api/images").json()["items"]) == 4
        panel.get_by_role("button", name="Close the uploads panel").click()
        expect(panel).to_be_hidden()

        # The Upload page: a failure is retried with "Retry 1 failed".
        page.goto("/upload")
        expect(page.locator("[data-dropzone]")).to_be_visible()
        failures["left"] = 1
        page.route("**/api/uploads", refuse_once)
        page.locator("[data-file-input]").set_input_files(
            [
                {
                    "name": "e.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg((300, 200), ((240, 240, 10), (0, 0, 90))),
                }
            ]
        )
        expect(page.locator(".upload[data-status='failed']")).to_have_count(1)
        page.get_by_role("button", name="Retry 1 failed").click()
        expect(page.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
        expect(page.locator("[data-upload-summary]")).to_have_text("Finished: 1 uploaded.")
        expect(page.get_by_role("link", name="See your photos")).to_be_visible()
        assert len(client.get("/api/images").json()["items"]) == 5
        expected = ["storage is busy"]  # the two refused intents, as the console reports them
        others = [e for e in console.errors if "503" not in e and not any(x in e for x in expected)]
        assert others == [], console.errors
    finally:
        context.close()
