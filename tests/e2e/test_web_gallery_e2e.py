"""The gallery in a real browser: one user's whole visit, from sign-up to log-out.

Sign up, log out, log in; drop two JPEGs on the upload page (direct-upload API, a progress bar
each); see them in the grid with srcset and placeholders; open the lightbox, arrow to the next
photo, Esc back to the grid; favorite one (the favorites view holds exactly it); share it and
open the link with no session; make an album and add the other; make a video of both and see
it play; log out (back to the sign-in page, and the API answers 401).
"""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import pytest

from .conftest import PASSWORD, Server, jpeg, new_page, shot, unlabelled, wait_until

pytestmark = pytest.mark.e2e

DROP_FILES = """(files) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, { type: "image/jpeg" }));
  }
  const zone = document.querySelector("[data-dropzone]");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""

VIDEO = "document.querySelector('[data-video-player]')"


def _photos() -> list[dict[str, str]]:
    sunrise = jpeg((1600, 1200), ((250, 170, 60), (120, 30, 90)), taken="2021:07:04 10:30:00")
    harbour = jpeg((900, 1200), ((20, 60, 140), (200, 220, 230)))
    return [
        {"name": "sunrise.jpg", "b64": base64.b64encode(sunrise).decode()},
        {"name": "harbour.jpg", "b64": base64.b64encode(harbour).decode()},
    ]


def nav(page: Any, name: str) -> Any:
    """A link of the main navigation."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def _tile(page: Any, title: str) -> Any:
    return page.locator(".tile").filter(has=page.locator(f"img[alt='{title}']"))


def test_gallery_visit(browser: Any, server: Server, failure_context: list[Any]) -> None:
    from playwright.sync_api import expect

    email = f"e2e-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 800})
    failure_context.append(page)

    # A visitor without a session lands on the sign-in page, which links to sign-up.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{server.url}/")
    expect(page.locator("[data-empty]")).to_be_visible()
    expect(page.locator("[data-user-email]")).to_have_text(email)
    shot(page, "01-empty-gallery")

    # Log out and back in through the sign-in form; a `next` pointing off-site is not followed.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server.url}/login")
    page.goto("/login?next=%2F%2Fevil.example%2F")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("[data-form-error]")).to_be_visible()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")

    # Drag and drop two files: each gets a progress bar that reaches 100.
    nav(page, "Upload").click()
    page.wait_for_url(f"{server.url}/upload")
    page.evaluate(DROP_FILES, _photos())
    expect(page.locator(".upload")).to_have_count(2)
    expect(page.locator(".upload[data-status='done']")).to_have_count(2, timeout=60_000)
    values = page.locator(".upload progress").evaluate_all("(bars) => bars.map((b) => b.value)")
    assert values == [100, 100]
    expect(page.locator("[data-upload-summary]")).to_have_text("Finished: 2 uploaded.")
    assert not unlabelled(page)
    shot(page, "02-uploaded")

    # The grid: two tiles, lazy responsive renditions, a ThumbHash placeholder behind each.
    nav(page, "Photos").click()
    page.wait_for_url(f"{server.url}/")
    expect(page.locator(".tile")).to_have_count(2)
    expect(page.locator(".tile-frame.loaded")).to_have_count(2, timeout=30_000)
    for img in page.locator(".tile-img").all():
        assert img.get_attribute("loading") == "lazy"
        srcset = img.get_attribute("srcset") or ""
        assert re.search(r"/renditions/sm \d+w", srcset), srcset
        assert re.search(r"/renditions/md \d+w", srcset), srcset
        assert img.evaluate("(i) => i.naturalWidth") > 0
    backgrounds = page.locator(".tile-frame").evaluate_all(
        "(frames) => frames.map((f) => f.style.backgroundImage)"
    )
    assert all(b.startswith('url("data:image/png;base64,') for b in backgrounds), backgrounds
    assert sorted(page.locator(".tile-img").evaluate_all("(imgs) => imgs.map((i) => i.alt)")) == [
        "harbour",
        "sunrise",
    ]
    assert not unlabelled(page)
    shot(page, "03-grid")

    # The lightbox, by keyboard: Enter on the first photo, arrow to the second, Esc back.
    first = page.locator(".tile-open").first
    first_title = first.locator("img").get_attribute("alt")
    first.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[data-lightbox]")
    expect(dialog).to_have_attribute("open", "")
    # Focus moved into the dialog (to its Close button).
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    assert not unlabelled(page)
    expect(dialog.locator("[data-lb-title]")).to_have_text(first_title or "")
    expect(dialog.locator("[data-lb-position]")).to_have_text("Photo 1 of 2")
    page.keyboard.press("ArrowRight")
    expect(dialog.locator("[data-lb-position]")).to_have_text("Photo 2 of 2")
    second_title = dialog.locator("[data-lb-title]").inner_text()
    assert second_title != first_title
    expect(dialog.locator(".lightbox-figure.loaded")).to_be_visible(timeout=30_000)
    # The details show the EXIF date of the photo that has one.
    page.keyboard.press("ArrowLeft" if second_title != "sunrise" else "ArrowRight")
    if dialog.locator("[data-lb-title]").inner_text() != "sunrise":
        page.keyboard.press("ArrowRight")
    expect(dialog.locator("[data-lb-title]")).to_have_text("sunrise")
    expect(dialog.locator("[data-lb-taken]")).to_contain_text("2021")
    expect(dialog.locator("[data-lb-dims]")).to_have_text("1600 \N{MULTIPLICATION SIGN} 1200 px")
    shot(page, "04-lightbox")
    page.keyboard.press("Escape")
    expect(dialog).not_to_have_attribute("open", "")
    focused = page.evaluate("document.activeElement.className")
    assert "tile-open" in focused, focused

    # Favorite sunrise from its tile; the favorites view shows exactly it.
    sunrise = _tile(page, "sunrise")
    sunrise.locator(".tile-fav").click()
    expect(sunrise.locator(".tile-fav")).to_have_attribute("aria-pressed", "true")
    nav(page, "Favorites").click()
    page.wait_for_url(f"{server.url}/favorites")
    expect(page.locator(".tile")).to_have_count(1)
    expect(page.locator(".tile-img")).to_have_attribute("alt", "sunrise")
    shot(page, "05-favorites")

    # Share it from the lightbox; the link works in a browser with no session.
    page.locator(".tile-open").click()
    page.get_by_label("its title").check()  # a link shows the photo only unless chosen
    page.get_by_role("button", name="Share link").click()
    share_box = page.locator("[data-lb-share-url]")
    expect(share_box).to_have_value(re.compile(rf"^{re.escape(server.url)}/share/[\w-]+$"))
    share_url = share_box.input_value()
    page.keyboard.press("Escape")
    stranger, stranger_page, stranger_console = new_page(browser, server)
    failure_context.append(stranger_page)
    stranger_page.goto(share_url)
    expect(stranger_page.locator(".shared.loaded")).to_be_visible(timeout=30_000)
    expect(stranger_page.locator("[data-shared-img]")).to_have_attribute("alt", "sunrise")
    assert stranger_page.locator("[data-shared-img]").evaluate("(i) => i.naturalWidth") > 0
    assert not stranger_console.csp_violations(), stranger_console.errors
    stranger.close()

    # An album: create it, add harbour from the grid's selection toolbar, view it.
    nav(page, "Albums").click()
    page.get_by_label("New album").fill("Seaside")
    page.get_by_role("button", name="Create album").click()
    expect(page.locator(".album")).to_have_count(1)
    assert not unlabelled(page)
    nav(page, "Photos").click()
    page.get_by_label("Select harbour").check()
    expect(page.locator("[data-toolbar]")).to_be_visible()
    page.locator("[data-album-select]").select_option(label="Seaside")
    page.get_by_role("button", name="Add to album").click()
    expect(page.locator("[data-toast]")).to_contain_text("Seaside")
    nav(page, "Albums").click()
    expect(page.locator(".album-meta")).to_contain_text("1 photo")
    page.locator(".album-link").click()
    expect(page.get_by_role("heading", name="Seaside")).to_be_visible()
    expect(page.locator(".tile")).to_have_count(1)
    expect(page.locator(".tile-img")).to_have_attribute("alt", "harbour")
    shot(page, "06-album")
    # ...and take it out again: the album empties, the photo stays in the library.
    page.get_by_label("Select harbour").check()
    page.get_by_role("button", name="Remove from this album").click()
    expect(page.locator(".tile")).to_have_count(0)
    expect(page.locator("[data-empty]")).to_be_visible()

    # "New album…" at the end of the same list creates an album and adds the selection to it
    # (user report 9).
    nav(page, "Photos").click()
    page.get_by_label("Select sunrise").check()
    select = page.locator("[data-album-select]")
    expect(select.locator("option").last).to_have_text("New album…")
    select.select_option(label="New album…")
    page.once("dialog", lambda dialog: dialog.accept("Mornings"))
    page.get_by_role("button", name="Add to album").click()
    expect(page.locator("[data-toast]")).to_contain_text("Added 1 to “Mornings” (1 in all)")
    expect(select.locator("option").last).to_have_text("New album…")
    albums = page.request.get("/api/albums").json()
    assert sorted((a["name"], a["image_count"]) for a in albums) == [
        ("Mornings", 1),
        ("Seaside", 0),
    ], albums

    # A video of both: select on the grid, carry the selection over, start, watch it play.
    nav(page, "Photos").click()
    page.get_by_label("Select sunrise").check()
    page.get_by_label("Select harbour").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 photos selected")
    page.get_by_role("button", name="Make a video").click()
    page.wait_for_url(f"{server.url}/video")
    expect(page.locator(".tile.selected")).to_have_count(2)
    assert not unlabelled(page)
    page.get_by_label("Seconds per photo").fill("1")
    page.get_by_label("Transition").select_option("none")
    page.get_by_label("Size").select_option("640x360")
    page.get_by_role("button", name="Make video").click()
    expect(page.locator(".job")).to_have_count(1)
    expect(page.locator("[data-video-player]")).to_be_visible(timeout=90_000)
    wait_until(page, f"() => {VIDEO}.readyState >= 2 || !!{VIDEO}.error", timeout=30)
    error = page.evaluate(f"{VIDEO}.error && {VIDEO}.error.message")
    assert not error, f"the browser could not play the video: {error}"
    page.evaluate(f"{VIDEO}.muted = true, {VIDEO}.play()")
    wait_until(page, f"() => {VIDEO}.currentTime > 0.3", timeout=20)
    expect(page.locator(".job[data-status='succeeded']")).to_have_count(1)
    shot(page, "07-video")

    # Log out: back to the sign-in page, and the API refuses the old session.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{server.url}/login")
    assert page.request.get("/api/me").status == 401
    page.goto("/favorites")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Ffavorites$"))
    shot(page, "08-logged-out")

    assert not console.csp_violations(), console.errors
    context.close()
