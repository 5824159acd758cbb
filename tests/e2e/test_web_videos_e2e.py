"""Earlier videos on the video page in a real browser: each listed newest first with a player
that plays, its date and a Delete that asks first (cancelling keeps the video), and the API and
the file route agree once it is deleted."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from .conftest import Server, jpeg, new_page, sign_up, unlabelled, wait_until

pytestmark = pytest.mark.e2e


def make_video(client: httpx.Client, image_id: str, title: str) -> str:
    created = client.post(
        "/api/videos",
        json={
            "image_ids": [image_id],
            "title": title,
            "seconds_per_image": 0.5,
            "transition": "none",
            "width": 320,
            "height": 180,
        },
    )
    assert created.status_code == 202, created.text
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{created.json()['job_id']}").json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    return str(created.json()["video_id"])


def test_earlier_videos_play_and_are_deleted_after_asking(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"e2e-videos-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    try:
        client = sign_up(page, server, email)
        photo = jpeg((640, 480), ((200, 60, 30), (20, 40, 160)))
        uploaded = client.post(
            "/api/images?wait=true", files={"file": ("v.jpg", photo, "image/jpeg")}
        )
        assert uploaded.status_code == 201, uploaded.text
        image_id = uploaded.json()["id"]
        older = make_video(client, image_id, "Older trip")
        newer = make_video(client, image_id, "Newer trip")

        page.goto("/video")
        items = page.locator("[data-video-list] > li")
        expect(items).to_have_count(2)
        expect(items.nth(0)).to_have_attribute("data-video-id", newer)
        expect(items.nth(1)).to_have_attribute("data-video-id", older)
        expect(items.nth(0)).to_contain_text("Newer trip (1 photo)")
        expect(items.nth(0).locator(".video-date")).to_contain_text("1 s")
        # The listed player really plays the MP4 (the browser read its metadata and frames).
        player = f"document.querySelector(\"[data-video-id='{newer}'] video\")"
        page.evaluate(f"{player}.muted = true")
        page.evaluate(f"{player}.play()")
        wait_until(page, f"() => {player}.currentTime > 0.2 && {player}.duration > 0.9", 30)
        assert page.evaluate(f"{player}.error") is None
        assert unlabelled(page) == []

        delete = page.get_by_role("button", name="Delete Older trip (1 photo)", exact=False)
        asked: list[str] = []

        def dismiss(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        delete.click()
        expect(items).to_have_count(2)
        assert asked and "Older trip" in asked[0], asked
        assert client.get(f"/api/videos/{older}").status_code == 200

        page.once("dialog", lambda dialog: dialog.accept())
        delete.click()
        expect(items).to_have_count(1)
        expect(page.get_by_text("Video deleted.")).to_be_visible()
        listed = client.get("/api/videos").json()["items"]
        assert [video["id"] for video in listed] == [newer]
        assert client.get(f"/api/videos/{older}/file").status_code == 404

        page.reload()
        expect(items).to_have_count(1)
        assert console.errors == [], console.errors
    finally:
        context.close()
