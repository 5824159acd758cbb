"""Upload rows as a newcomer read them (report s28): the summary counts a file already in the
library apart from the new ones, and a failed row's name and message are readable (contrast
at least 4.5 against the row) in the light theme and the dark one."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from .conftest import Server, jpeg, new_page, shot, sign_up
from .test_web_gallery_e2e import DROP_FILES

pytestmark = pytest.mark.e2e

# WCAG 2 contrast of an element's text against the first opaque background behind it.
CONTRAST = """(node) => {
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  let back = node;
  while (back && (rgb(getComputedStyle(back).backgroundColor)[3] ?? 1) === 0) {
    back = back.parentElement;
  }
  const behind = back ? getComputedStyle(back).backgroundColor : "rgb(255, 255, 255)";
  const [a, b] = [luminance(rgb(getComputedStyle(node).color)), luminance(rgb(behind))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def b64(name: str, data: bytes) -> dict[str, str]:
    return {"name": name, "b64": base64.b64encode(data).decode()}


def test_summary_counts_duplicates_and_failed_rows_are_readable(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    client = sign_up(page, server, f"e2e-rows-{uuid.uuid4().hex[:8]}@example.com")
    known = jpeg((400, 300), ((90, 160, 40), (20, 20, 80)))
    sent = client.post("/api/images?wait=true", files={"file": ("known.jpg", known, "image/jpeg")})
    assert sent.status_code == 201, sent.text

    # One new photo, the known one again, and a text file named like a photo (415).
    page.goto("/upload")
    fresh = jpeg((400, 300), ((200, 90, 40), (240, 240, 200)))
    files = [b64("new.jpg", fresh), b64("again.jpg", known), b64("notes.jpg", b"just words")]
    page.evaluate(DROP_FILES, files)
    summary = page.locator("[data-upload-summary]")
    expect(summary).to_have_text(
        "Finished: 1 uploaded, 1 already in your library, 1 failed.", timeout=60_000
    )
    rows = page.locator(".upload")
    expect(rows.filter(has_text="again.jpg")).to_contain_text("Already in your library")
    failed = page.locator(".upload[data-status='failed']")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("notes.jpg")
    assert len(client.get("/api/images").json()["items"]) == 2

    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for part in (".upload-name", ".upload-status", ".upload-size"):
            ratio = failed.locator(part).evaluate(CONTRAST)
            assert ratio >= 4.5, (scheme, part, ratio)
        shot(page, f"upload-rows-{scheme}")
    refusals = [e for e in console.errors if "415" in e]
    assert len(refusals) == len(console.errors), console.errors
    context.close()


def test_files_chosen_before_the_page_script_runs_are_uploaded(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    """A slow phone can show the file picker before the page's script has run: the files chosen
    then fired their change event with nobody listening, and nothing was ever uploaded (CI run
    of stop 28). The script is held back here until the files are in the input."""
    from playwright.sync_api import expect

    context, page, console = new_page(browser, server, viewport={"width": 390, "height": 844})
    failure_context.append(page)
    client = sign_up(page, server, f"e2e-early-{uuid.uuid4().hex[:8]}@example.com")
    held: list[Any] = []
    page.route("**/js/pages/upload.js*", lambda route: held.append(route))
    page.goto("/upload", wait_until="commit")
    photo = jpeg((300, 400), ((30, 30, 30), (230, 230, 230)))
    page.get_by_label("Choose files").set_input_files(
        files=[{"name": "early.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    for _ in range(200):  # the route handler runs while Playwright waits
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the upload page never asked for its script"
    held[0].continue_()
    expect(page.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
    expect(page.locator(".upload")).to_contain_text("early.jpg")
    assert len(client.get("/api/images").json()["items"]) == 1
    assert not console.errors, console.errors
    context.close()


def test_a_file_refused_after_its_answer_is_counted_as_failed(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    """A truncated JPEG passes the header check, is answered, then the renditions step refuses
    it: its row turned Failed while the summary still counted it as uploaded ("18 uploaded,
    1 already in your library, 7 failed" over 11 failed rows; outside photographer, s29)."""
    from playwright.sync_api import expect

    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    sign_up(page, server, f"e2e-late-{uuid.uuid4().hex[:8]}@example.com")
    page.goto("/upload")
    whole = jpeg((800, 600), ((20, 120, 220), (250, 250, 250)))
    cut = jpeg((800, 600), ((220, 20, 20), (10, 10, 10)))
    files = [b64("whole.jpg", whole), b64("cut.jpg", cut[: len(cut) // 2])]
    page.evaluate(DROP_FILES, files)
    failed = page.locator(".upload[data-status='failed']")
    expect(failed).to_have_count(1, timeout=60_000)
    expect(failed).to_contain_text("cut.jpg")
    expect(failed).to_contain_text("Failed: The image is damaged or incomplete")
    expect(page.locator("[data-upload-summary]")).to_have_text(
        "Finished: 1 uploaded, 1 failed.", timeout=30_000
    )
    assert not console.errors, console.errors
    context.close()
