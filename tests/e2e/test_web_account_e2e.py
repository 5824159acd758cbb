"""Account security in a real browser against ``salon serve``: "Forgot your password?" on the
sign-in page, the mailed link (the default console sender writes it to the server log), a new
password; then the account page: change the password (another session ends) and log out
everywhere."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest

from .conftest import PASSWORD, Server, jpeg, new_page, shot, unlabelled

pytestmark = pytest.mark.e2e

RESET_PASSWORD = "a reset e2e passphrase"
CHANGED_PASSWORD = "a changed e2e passphrase"


def _reset_link(server: Server, email: str, timeout: float = 15.0) -> str:
    """The link the console mail sender logged for ``email``."""
    pattern = re.compile(re.escape(server.url) + r"/reset-password#\S+")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.log_path.read_text(errors="replace")
        for link in pattern.findall(text):
            if f"email={email.replace('@', '%40')}" in link:
                return link
        time.sleep(0.2)
    pytest.fail(f"no reset link for {email} in the server log:\n{server.log_tail()}")


def test_forgot_change_and_log_out_everywhere(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"acct-{uuid.uuid4().hex[:8]}@example.com"
    other_device = server.api_user(email)  # signed in elsewhere with the first password
    context, page, console = new_page(browser, server, viewport={"width": 1024, "height": 768})
    failure_context.append(page)

    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url(f"{server.url}/forgot-password")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send a reset link").click()
    expect(page.locator("[data-sent]")).to_be_visible()
    assert unlabelled(page) == []

    link = _reset_link(server, email)
    assert PASSWORD not in server.log_path.read_text(errors="replace")
    page.goto(link)
    expect(page.locator("[data-reset-email]")).to_have_text(email)
    assert "#" not in page.url  # the code left the address bar at once
    page.get_by_label("New password").fill(RESET_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("[data-done]")).to_be_visible()
    shot(page, "account-01-reset-done")
    assert other_device.get("/api/me").status_code == 401  # the reset ended that session

    # The link works once (opened afresh, as from the mail).
    page.goto("/login")
    page.goto(link)
    page.get_by_label("New password").fill("one more passphrase")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator("[data-form-error]")).to_contain_text("reset link")

    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(RESET_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")

    second = httpx_login(server, email, RESET_PASSWORD)
    page.locator("[data-user-email]").click()
    page.wait_for_url(f"{server.url}/account")
    assert unlabelled(page) == []
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password").fill(CHANGED_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("[data-password-error]")).to_contain_text("current password is wrong")
    page.get_by_label("Current password").fill(RESET_PASSWORD)
    page.get_by_label("New password").fill(CHANGED_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    # The outcome shows in the password card itself (a toast at the foot of the window sat
    # over the Sessions card), as a sentence.
    done = page.locator("[data-password-done]")
    expect(done).to_have_text(
        "Password changed. Your other sessions were signed out and your API keys revoked."
    )
    expect(page.locator("[data-toast]")).not_to_have_class(re.compile(r"\bvisible\b"))
    sessions = page.locator("section[aria-labelledby='sessions-heading']").bounding_box()
    said = done.bounding_box()
    assert sessions and said and said["y"] + said["height"] <= sessions["y"], (said, sessions)
    assert second.get("/api/me").status_code == 401  # the other session ended ...
    page.reload()
    expect(page.locator("[data-user-email]")).to_have_text(email)  # ... this one did not
    shot(page, "account-02-changed")
    # Toasts carry API messages, which are lower-case phrases: shown as sentences.
    page.evaluate(
        "async () => (await import('/static/js/ui.js')).toast('invalid or expired access token')"
    )
    expect(page.locator("[data-toast]")).to_have_text("Invalid or expired access token")

    # Share links: made through the API, listed here, revoked here.
    owner = httpx_login(server, email, CHANGED_PASSWORD)
    files = {
        "file": ("holiday.jpg", jpeg((320, 240), ((200, 40, 40), (40, 40, 200))), "image/jpeg")
    }
    image = owner.post("/api/images", files=files).json()
    share = owner.post(f"/api/images/{image['id']}/share", json={"show": ["title"]}).json()
    assert httpx.get(f"{server.url}/s/{share['token']}").status_code == 200
    page.reload()
    item = page.locator(f"[data-share-id='{share['id']}']")
    expect(item).to_contain_text("shows the photo and title")
    # Named after the photo; Revoke asks first (user report 10): dismissed, the link stays.
    subject = f"Photo “{image['title']}”" if image["title"] else "Untitled photo"
    expect(item.locator(".share-name")).to_contain_text(f"{subject} shared")
    assert unlabelled(page) == []
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    item.get_by_role("button", name="Revoke").click()
    expect(item).to_be_visible()
    assert questions and questions[0].startswith(f"Revoke the link to {subject}?"), questions
    assert httpx.get(f"{server.url}/s/{share['token']}").status_code == 200
    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Revoke").click()
    expect(page.locator("[data-shares-empty]")).to_be_visible()
    assert httpx.get(f"{server.url}/s/{share['token']}").status_code == 410
    shot(page, "account-03-shares")

    third = httpx_login(server, email, CHANGED_PASSWORD)
    page.get_by_role("button", name="Log out everywhere").click()
    page.wait_for_url(re.compile(r"/login"))
    assert third.get("/api/me").status_code == 401
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Faccount$"))
    # Refused requests (400, 401) show as failed loads; nothing else may go wrong.
    problems = [e for e in console.errors if not e.startswith("Failed to load resource")]
    assert problems == [] and console.csp_violations() == [], console.errors
    context.close()


def httpx_login(server: Server, email: str, password: str) -> Any:
    client = httpx.Client(base_url=server.url, timeout=30)
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    response.raise_for_status()
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return client
