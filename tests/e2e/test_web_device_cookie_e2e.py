"""Signing in through the page in a real browser with device cookies (issue 17.3): the sign-in
sets the device cookie (HttpOnly, SameSite=Strict, only for /api/auth), and after someone
else's failed guesses have closed the account to clients without one, this browser still signs
in through the page while a fresh browser is told to wait."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from .conftest import PASSWORD, Server, new_page

pytestmark = pytest.mark.e2e

FAILURE_LIMIT = 10  # SALON_LOGIN_FAILURE_LIMIT's default; the e2e server keeps it


def _sign_in(page: Any, server: Server, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_the_owners_browser_signs_in_while_guessers_are_held(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"device-{uuid.uuid4().hex[:8]}@example.com"
    server.api_user(email).close()
    context, page, console = new_page(browser, server)
    failure_context.append(page)
    _sign_in(page, server, email)
    page.wait_for_url(f"{server.url}/")
    device = [c for c in context.cookies() if c["name"] == "salon_device"]
    assert len(device) == 1, context.cookies()
    assert device[0]["httpOnly"] and device[0]["sameSite"] == "Strict"
    assert device[0]["path"] == "/api/auth"
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login"))
    assert [c["name"] for c in context.cookies()] == ["salon_device"]  # logout keeps it

    for n in range(FAILURE_LIMIT):  # a guesser who knows the e-mail
        guess = {"email": email, "password": f"guess number {n}"}
        assert httpx.post(f"{server.url}/api/auth/login", json=guess).status_code == 401

    stranger, stranger_page, _ = new_page(browser, server)
    failure_context.append(stranger_page)
    _sign_in(stranger_page, server, email)
    expect(stranger_page.locator("[data-form-error]")).to_contain_text(
        "failed sign-ins for this account"
    )
    stranger.close()

    _sign_in(page, server, email)
    page.wait_for_url(f"{server.url}/")
    expect(page.locator("[data-user-email]")).to_have_text(email)
    problems = [e for e in console.errors if not e.startswith("Failed to load resource")]
    assert problems == [] and console.csp_violations() == [], console.errors
    context.close()
