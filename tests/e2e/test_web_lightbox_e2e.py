"""The lightbox in a real browser (issue 20.7): it shows the camera, lens, exposure, dimensions
and file size from the photo's EXIF; the address follows the photo (?photo=<id>), so a reload
opens it again and Back returns to the grid; double-click, the wheel and +/- zoom, a drag pans,
and a horizontal swipe moves to the next photo; the capture date is corrected from the edit
form, and the API agrees."""

from __future__ import annotations

import io
import re
import time
import uuid
from typing import Any

import pytest

from .conftest import Server, jpeg, new_page, shot, sign_up, unlabelled

pytestmark = pytest.mark.e2e


def exif_jpeg() -> bytes:
    """A photo with the EXIF a camera writes: make, model, lens, exposure, date."""
    from PIL import ExifTags, Image
    from PIL.TiffImagePlugin import IFDRational

    im = Image.linear_gradient("L").resize((800, 600)).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R5"
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[0x829A] = IFDRational(1, 250)  # ExposureTime
    sub[0x829D] = IFDRational(28, 10)  # FNumber
    sub[0x8827] = 200  # ISO
    sub[0x920A] = IFDRational(50, 1)  # FocalLength
    sub[0xA434] = "RF50mm F1.8 STM"  # LensModel
    sub[0x9003] = "2021:06:01 05:30:00"
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def test_lightbox_details_address_zoom_swipe_and_date(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"e2e-lightbox-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(
        browser, server, viewport={"width": 1280, "height": 800}, timezone_id="UTC"
    )
    failure_context.append(page)
    try:
        client = sign_up(page, server, email)
        ids = []
        for i, data in enumerate(
            [
                # Taken before the camera's photo (2021), so the timeline's order (by date
                # taken) is the upload order.
                jpeg((640, 480), ((200, 40, 40), (10, 10, 10)), taken="2020:01:01 10:00:00"),
                jpeg((480, 640), ((40, 200, 40), (0, 0, 0)), taken="2020:02:01 10:00:00"),
                exif_jpeg(),
            ]
        ):
            response = client.post(
                "/api/images?wait=true",
                files={"file": (f"p{i}.jpg", data, "image/jpeg")},
                data={"title": f"p{i}"},
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        camera = client.get(f"/api/images/{ids[2]}").json()
        assert camera["metadata"]["lens"] == "RF50mm F1.8 STM"

        # Newest first: p2 (the camera's photo), p1, p0.
        page.reload()
        tiles = page.locator(".tile")
        expect(tiles).to_have_count(3)
        dialog = page.locator("dialog[data-lightbox]")
        page.locator(f".tile[data-id='{ids[2]}'] .tile-open").click()
        expect(dialog).to_have_attribute("open", "")
        expect(page).to_have_url(f"{server.url}/?photo={ids[2]}")
        expect(dialog.locator("[data-lb-camera]")).to_have_text("Canon EOS R5")
        expect(dialog.locator("[data-lb-lens]")).to_have_text("RF50mm F1.8 STM")
        expect(dialog.locator("[data-lb-exposure]")).to_have_text(
            "1/250 s \N{MIDDLE DOT} \N{LATIN SMALL LETTER F WITH HOOK}/2.8 \N{MIDDLE DOT} "
            "ISO 200 \N{MIDDLE DOT} 50 mm"
        )
        expect(dialog.locator("[data-lb-dims]")).to_have_text("800 \N{MULTIPLICATION SIGN} 600 px")
        expect(dialog.locator("[data-lb-size]")).to_have_text(re.compile(r"^\d+(\.\d)? KB$"))
        expect(dialog.locator("[data-lb-taken]")).to_contain_text("2021")
        # A photo without EXIF says so rather than showing blanks.
        page.keyboard.press("ArrowRight")
        expect(dialog.locator("[data-lb-title]")).to_have_text("p1")
        expect(page).to_have_url(f"{server.url}/?photo={ids[1]}")
        expect(dialog.locator("[data-lb-camera]")).to_have_text("Unknown")
        assert not unlabelled(page)

        # A reload opens the same photo; Back (the lightbox replaced its entry while moving)
        # returns to the grid without it.
        page.reload()
        expect(dialog).to_have_attribute("open", "")
        expect(dialog.locator("[data-lb-title]")).to_have_text("p1")
        page.keyboard.press("Escape")
        expect(dialog).not_to_have_attribute("open", "")
        expect(page).to_have_url(f"{server.url}/")  # history moves after the close
        page.locator(f".tile[data-id='{ids[0]}'] .tile-open").click()
        expect(dialog.locator("[data-lb-title]")).to_have_text("p0")
        expect(page).to_have_url(f"{server.url}/?photo={ids[0]}")
        page.go_back()
        expect(dialog).not_to_have_attribute("open", "")
        expect(page).to_have_url(f"{server.url}/")
        page.go_forward()
        expect(dialog).to_have_attribute("open", "")
        expect(dialog.locator("[data-lb-title]")).to_have_text("p0")

        # Zoom: double-click, wheel, keys; a drag pans while zoomed.
        page.keyboard.press("Escape")
        page.locator(f".tile[data-id='{ids[2]}'] .tile-open").click()
        expect(dialog.locator(".lightbox-figure.loaded")).to_be_visible(timeout=30_000)
        figure = dialog.locator(".lightbox-figure")
        zoom = dialog.locator("[data-lb-zoom]")
        img = dialog.locator("[data-lb-img]")
        box = figure.bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        figure.dblclick(position={"x": box["width"] / 2, "y": box["height"] / 2})
        expect(zoom).to_have_attribute("aria-pressed", "true")
        expect(img).to_have_attribute("style", re.compile(r"scale\(2\.5\)"))
        before = img.bounding_box()
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx + 120, cy + 40, steps=5)
        page.mouse.up()
        after = img.bounding_box()
        assert before and after and after["x"] - before["x"] == pytest.approx(120, abs=2)
        expect(dialog.locator("[data-lb-title]")).to_have_text("p2")  # a pan is not a swipe
        page.keyboard.press("0")
        expect(zoom).to_have_attribute("aria-pressed", "false")
        page.mouse.move(cx, cy)
        page.mouse.wheel(0, -300)
        expect(zoom).to_have_attribute("aria-pressed", "true")
        page.keyboard.press("0")
        page.keyboard.press("+")
        expect(zoom).to_have_attribute("aria-pressed", "true")
        zoom.click()
        expect(zoom).to_have_attribute("aria-pressed", "false")

        # Swipe left: the next photo; swipe right: back.
        page.mouse.move(cx + 150, cy)
        page.mouse.down()
        page.mouse.move(cx - 150, cy + 10, steps=6)
        page.mouse.up()
        expect(dialog.locator("[data-lb-title]")).to_have_text("p1")
        expect(dialog.locator("[data-lb-position]")).to_have_text("Photo 2 of 3")
        page.mouse.move(cx - 150, cy)
        page.mouse.down()
        page.mouse.move(cx + 150, cy, steps=6)
        page.mouse.up()
        expect(dialog.locator("[data-lb-title]")).to_have_text("p2")

        # Correct the capture date: the camera wrote no offset, so it is a wall-clock time
        # and stays one (the form says so).
        dialog.get_by_text("Edit title, description and date").click()
        dialog.get_by_label("Date taken (as on the camera)").fill("2019-05-04T12:30:15")
        dialog.get_by_label("Description").fill("Harbour at dawn,\nfog lifting")
        dialog.get_by_role("button", name="Save").click()
        expect(page.locator("[data-toast]")).to_have_text("Saved")
        expect(dialog.locator("[data-lb-taken]")).to_contain_text("2019")
        expect(dialog.locator("[data-lb-description]")).to_have_text(
            "Harbour at dawn,\nfog lifting"
        )
        saved = client.get(f"/api/images/{ids[2]}").json()
        assert saved["taken_at"].startswith("2019-05-04T12:30:15")
        assert saved["metadata"]["taken_at_zone"] == "local"
        assert saved["metadata"]["description"] == "Harbour at dawn,\nfog lifting"
        found = client.get("/api/images", params={"q": "harbour"}).json()["items"]
        assert [item["id"] for item in found] == [ids[2]]
        assert saved["metadata"]["camera_taken_at"].startswith("2021-06-01T05:30:00")

        # Typed but unsaved edits are not lost without a word: moving on asks first.
        title = dialog.locator("[data-lb-title]").inner_text()
        dialog.get_by_label("Description").fill("Not saved yet")
        asked: list[str] = []

        def answer(accept: bool) -> Any:
            def handle(box: Any) -> None:
                asked.append(box.message)
                box.accept() if accept else box.dismiss()

            return handle

        page.once("dialog", answer(False))
        dialog.get_by_role("button", name="Previous photo").click()
        expect(dialog.locator("[data-lb-title]")).to_have_text(title)
        expect(dialog.get_by_label("Description")).to_have_value("Not saved yet")
        page.once("dialog", answer(True))
        dialog.get_by_role("button", name="Previous photo").click()
        expect(dialog.locator("[data-lb-title]")).not_to_have_text(title)
        assert asked == ["Discard your unsaved changes to this photo?"] * 2, asked
        assert "Not saved" not in str(client.get(f"/api/images/{ids[2]}").json()["metadata"])

        # The selection's dates at once: set p0 and p1 to one date, then shift both back 2 h.
        page.keyboard.press("Escape")
        page.locator(f".tile[data-id='{ids[0]}'] .tile-check").check()
        page.locator(f".tile[data-id='{ids[1]}'] .tile-check").check()
        page.get_by_text("Change date taken…").click()
        page.get_by_label("New date taken (your time zone)").fill("2018-07-01T10:00:00")
        page.get_by_role("button", name="Set date").click()
        expect(page.locator("[data-toast]")).to_have_text("Date set on 2")
        page.get_by_text("Change date taken…").click()
        page.get_by_label("or shift by hours").fill("-2")
        page.get_by_role("button", name="Shift dates").click()
        expect(page.locator("[data-toast]")).to_have_text("Dates of 2 shifted by -2 h")
        for image_id in ids[:2]:
            taken = client.get(f"/api/images/{image_id}").json()["taken_at"]
            assert taken.startswith("2018-07-01T08:00:00"), taken
        assert client.get(f"/api/images/{ids[2]}").json()["taken_at"].startswith("2019-05-04")
        assert console.errors == [], console.errors
    finally:
        context.close()


def two_frame_gif() -> bytes:
    """An animated GIF: a red frame, then a blue one, looping."""
    from PIL import Image

    red, blue = (Image.new("RGB", (160, 120), c) for c in ((220, 30, 30), (30, 30, 220)))
    out = io.BytesIO()
    red.save(out, "GIF", save_all=True, append_images=[blue], duration=200, loop=0)
    return out.getvalue()


def frames_seen(img: Any, tries: int = 20) -> set[str]:
    """Which of the GIF's frames screenshots of ``img`` catch, 0.1 s apart: both, if it moves."""
    from PIL import Image

    seen: set[str] = set()
    for _ in range(tries):
        shown = Image.open(io.BytesIO(img.screenshot())).convert("RGB")
        red, _green, blue = shown.getpixel((shown.width // 2, shown.height // 2))
        seen.add("red" if red > blue else "blue")
        if len(seen) == 2:
            break
        time.sleep(0.1)
    return seen


def test_animated_gif_moves_in_the_lightbox(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    """Report s28: an animated GIF showed as a still everywhere (its renditions were its first
    frame). Its large rendition moves now (s29): the lightbox and the public share page show
    it, and the grid keeps the still."""
    from playwright.sync_api import expect

    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    try:
        client = sign_up(page, server, f"e2e-gif-{uuid.uuid4().hex[:8]}@example.com")
        uploads = [("still.jpg", jpeg((640, 480), ((40, 40, 200), (0, 0, 0))), "image/jpeg")]
        uploads.append(("spinner.gif", two_frame_gif(), "image/gif"))
        images = []
        for name, data, kind in uploads:
            sent = client.post("/api/images?wait=true", files={"file": (name, data, kind)})
            assert sent.status_code == 201, sent.text
            images.append(sent.json())
        still, gif = images
        assert gif["metadata"].get("animated") is True, gif["metadata"]

        page.reload()
        expect(page.locator(".tile-frame.loaded")).to_have_count(2, timeout=30_000)
        tile_img = page.locator(f".tile[data-id='{gif['id']}'] .tile-img")
        assert "/renditions/" in (tile_img.evaluate("(i) => i.currentSrc") or "")

        # Newest first: the GIF, then the JPEG.
        page.locator(f".tile[data-id='{gif['id']}'] .tile-open").click()
        dialog = page.locator("dialog[data-lightbox]")
        expect(dialog.locator(".lightbox-figure.loaded")).to_be_visible(timeout=30_000)
        img = dialog.locator("[data-lb-img]")
        assert gif["metadata"]["animated_rendition"] == "lg", gif["metadata"]
        expect(img).to_have_attribute("src", gif["urls"]["renditions"]["lg"])
        assert img.get_attribute("srcset") is None
        shown = img.evaluate(
            """async (i) => (await fetch(i.currentSrc)).headers.get("content-type")"""
        )
        assert shown == "image/webp", shown
        assert img.evaluate("(i) => i.naturalWidth") == 160
        assert frames_seen(img) == {"red", "blue"}
        shot(page, "lightbox-animated-gif")

        # A stranger's share page shows the same rendition, which moves there too.
        link = client.post(f"/api/images/{gif['id']}/share", json={})
        assert link.status_code == 201, link.text
        stranger = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            shared = stranger.new_page()
            shared.goto(link.json()["url"])
            shared_img = shared.locator("[data-shared-img]")
            expect(shared_img).to_have_js_property("complete", True, timeout=30_000)
            assert shared_img.evaluate("(i) => i.naturalWidth") == 160
            assert frames_seen(shared_img) == {"red", "blue"}
        finally:
            stranger.close()

        # The next photo, a still, gets its renditions again.
        page.keyboard.press("ArrowRight")
        expect(dialog.locator("[data-lb-title]")).to_have_text("still")
        expect(img).to_have_attribute("srcset", re.compile(r"/renditions/md \d+w"))
        expect(img).to_have_attribute("src", re.compile(r"/renditions/"))
        assert still["urls"]["original"] not in (img.evaluate("(i) => i.currentSrc") or "")
        assert console.errors == [], console.errors
    finally:
        context.close()
