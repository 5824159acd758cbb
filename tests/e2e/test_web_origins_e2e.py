"""The gallery on an address other than a configured public URL, and where sign-in leads.

A server started with no ``SALON_PUBLIC_URL``, opened as ``http://localhost:<port>`` (the server
listens on 127.0.0.1): the Upload page's bytes go to the page's own origin, so the CSP lets
them through and the photo shows up. Then ``/login?next=`` values that a naive "starts with one
slash" check lets through (a tab, CR or LF after the slash, which the URL parser drops) must
land on the gallery, never on another host.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, Server, jpeg, new_page, start_server

pytestmark = pytest.mark.e2e

PICK_FILE = """(f) => {
  const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], f.name, { type: "image/jpeg" }));
  const input = document.querySelector("[data-file-input]");
  input.files = transfer.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}"""


@pytest.fixture(scope="module")
def unnamed_server(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Embedded mode with SALON_PUBLIC_URL unset (empty), reached as ``localhost``."""
    with ExitStack() as stack:
        server = start_server(
            stack,
            tmp_path_factory.mktemp("unnamed"),
            {"SALON_PUBLIC_URL": ""},
            name="server-localhost",
        )
        server.url = server.url.replace("127.0.0.1", "localhost")
        yield server


def _sign_up(page: Any, server: Server) -> str:
    email = f"origin-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{server.url}/")
    return email


def test_upload_page_works_on_localhost_without_a_public_url(
    browser: Any, unnamed_server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(browser, unnamed_server)
    failure_context.append(page)
    _sign_up(page, unnamed_server)
    page.goto("/upload")
    photo = jpeg((800, 600), ((10, 120, 60), (230, 200, 40)))
    page.evaluate(PICK_FILE, {"name": "meadow.jpg", "b64": base64.b64encode(photo).decode()})
    expect(page.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
    expect(page.locator("[data-upload-summary]")).to_have_text("Finished: 1 uploaded.")
    page.goto("/")
    expect(page.locator(".tile-img")).to_have_attribute("alt", "meadow")
    expect(page.locator(".tile-frame.loaded")).to_have_count(1, timeout=30_000)
    assert page.locator(".tile-img").evaluate("(i) => i.naturalWidth") > 0
    assert not console.csp_violations(), console.errors
    context.close()


@pytest.mark.parametrize("sep", ["%09", "%0D", "%0A", "%5C", "", ".%2F", "%2e%2F", "x%2F..%2F"])
def test_login_next_never_leaves_the_site(
    browser: Any, unnamed_server: Server, failure_context: list[Any], sep: str
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(browser, unnamed_server)
    failure_context.append(page)
    email = _sign_up(page, unnamed_server)
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{unnamed_server.url}/login")
    page.goto(f"/login?next=%2F{sep}%2Fevil.example%2Fphish")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{unnamed_server.url}/")
    expect(page.locator("[data-user-email]")).to_have_text(email)
    # A same-site `next` is still honoured, query string included.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{unnamed_server.url}/login")
    page.goto("/login?next=%2Fupload%3Fx%3D1")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{unnamed_server.url}/upload?x=1")
    assert not console.csp_violations(), console.errors
    context.close()
