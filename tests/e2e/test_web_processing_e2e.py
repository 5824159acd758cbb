"""A photo answered before its renditions exist, in a real browser: the grid and the lightbox
show a labelled box of the photo's shape, then the photo itself once a worker made them.

The server is a web process that runs no jobs (``SALON_INPROCESS_WORKER=false``), so nothing
makes the renditions until the test starts a real ``salon worker`` beside it: the "before" is
certain, not a race.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, _salon_bin, jpeg, new_page, shot, start_server, unlabelled
from .test_web_gallery_e2e import DROP_FILES, nav
from .test_web_upload_anywhere_e2e import drop

pytestmark = pytest.mark.e2e

DAWN = jpeg((900, 1200), ((20, 200, 120), (200, 30, 90)))


def _list(page: Any) -> list[Any]:
    """The library as the signed-in page's session sees it."""
    answer = page.request.get("/api/images")
    assert answer.ok, answer.text()
    items: list[Any] = answer.json()["items"]
    return items


def _worker(stack: ExitStack, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env.update(SALON_DATA_DIR=str(data_dir), SALON_LOCAL_QUEUE_POLL_INTERVAL="0.2")
    log = stack.enter_context((data_dir / "worker.log").open("wb"))
    process = subprocess.Popen(
        [str(_salon_bin()), "worker"],
        env=env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def stop() -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    stack.callback(stop)
    return process


def test_placeholder_then_photo(browser: Any, tmp_path: Path, failure_context: list[Any]) -> None:
    from playwright.sync_api import expect

    with ExitStack() as stack:
        data_dir = tmp_path / "web-only"
        data_dir.mkdir()
        server = start_server(
            stack, data_dir, {"SALON_INPROCESS_WORKER": "false"}, name="server-web-only"
        )
        context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 800})
        stack.callback(context.close)
        failure_context.append(page)

        page.goto("/signup")
        page.get_by_label("Email").fill(f"e2e-{uuid.uuid4().hex[:8]}@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"{server.url}/")

        # The upload is answered at once; the page says the photo is still being processed.
        # The drop must reach the upload page's own script, not the page being left.
        nav(page, "Upload").click()
        page.wait_for_url(f"{server.url}/upload")
        expect(page.locator("[data-dropzone]")).to_be_visible()
        photo = jpeg((1600, 900), ((240, 120, 40), (30, 60, 160)))
        page.evaluate(DROP_FILES, [{"name": "dusk.jpg", "b64": base64.b64encode(photo).decode()}])
        expect(page.locator(".upload")).to_have_count(1)
        # On a failure the row's own text (e.g. "Failed: …") is in the assertion message.
        expect(page.locator(".upload-status")).to_have_text("Uploaded (processing)", timeout=60_000)
        expect(page.locator(".upload")).to_have_attribute("data-status", "done")

        # The grid: a box of the photo's own shape, labelled, and no image request yet.
        nav(page, "Photos").click()
        page.wait_for_url(f"{server.url}/")
        tile = page.locator(".tile")
        expect(tile).to_have_count(1)
        frame = page.locator(".tile-frame")
        expect(frame).to_have_attribute("data-status", "processing")
        expect(frame).to_have_attribute("data-status-text", "Processing…")
        img = page.locator(".tile-img")
        assert img.get_attribute("src") is None and img.get_attribute("srcset") is None
        assert (img.get_attribute("width"), img.get_attribute("height")) == ("1600", "900")
        assert not unlabelled(page)
        shot(page, "processing-01-placeholder")

        # The lightbox opened on it shows the same state.
        page.locator(".tile-open").click()
        figure = page.locator(".lightbox-figure")
        expect(figure).to_have_attribute("data-status", "processing")

        # A worker makes the renditions; the open lightbox and the grid swap the photo in.
        _worker(stack, data_dir)
        expect(figure).to_have_attribute("data-status", "ready", timeout=90_000)
        expect(page.locator(".lightbox-figure.loaded")).to_be_visible(timeout=30_000)
        assert "/renditions/" in (page.locator("[data-lb-img]").get_attribute("src") or "")
        shot(page, "processing-02-lightbox-ready")
        page.keyboard.press("Escape")
        expect(frame).to_have_attribute("data-status", "ready")
        expect(page.locator(".tile-frame.loaded")).to_have_count(1, timeout=30_000)
        srcset = img.get_attribute("srcset") or ""
        assert "/renditions/sm" in srcset, srcset
        assert img.evaluate("(i) => i.naturalWidth") > 0
        shot(page, "processing-03-photo")

        # Upload rows follow the photo too (user report 5): dropped on Photos, the panel's row
        # says "Uploaded" once the worker made the renditions (this web process makes none, so
        # the answer itself is always "processing").
        drop(page, [{"name": "dawn.jpg", "b64": base64.b64encode(DAWN).decode()}])
        panel = page.get_by_role("complementary", name="Uploads")
        expect(panel.locator(".upload-status")).to_have_text("Uploaded", timeout=60_000)
        expect(panel.locator(".upload")).to_have_attribute("data-status", "done")
        expect(page.locator(".tile-frame.loaded")).to_have_count(2, timeout=30_000)

        # The Upload page: the same bytes again are "Already in your library" (report 6); a
        # file no retry can fix (415) has no Retry, and no "Retry failed" (report 7).
        nav(page, "Upload").click()
        page.wait_for_url(f"{server.url}/upload")
        page.evaluate(
            DROP_FILES, [{"name": "dusk-again.jpg", "b64": base64.b64encode(photo).decode()}]
        )
        row = page.locator(".upload").first
        expect(row.locator(".upload-status")).to_have_text(
            "Already in your library", timeout=60_000
        )
        page.locator("[data-file-input]").set_input_files(
            [{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo at all"}]
        )
        refused = page.locator(".upload[data-status='failed']")
        expect(refused).to_have_count(1, timeout=60_000)
        expect(refused).to_contain_text("Failed:")
        expect(page.locator("[data-upload-summary]")).to_have_text(
            "Finished: 0 uploaded, 1 already in your library, 1 failed."
        )
        expect(page.get_by_role("button", name="Retry notes.txt")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile("^Retry"))).to_have_count(0)
        assert {i["id"] for i in _list(page)} and len(_list(page)) == 2
        refusals = [e for e in console.errors if "415" in e or "400" in e]
        assert len(refusals) == len(console.errors), console.errors
