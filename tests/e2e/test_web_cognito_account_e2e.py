"""The account page with Cognito accounts (moto server standing in for Cognito): Cognito cannot
end only the other sessions, so a password change ends this one too. The page must say so and
go to the sign-in page cleanly (no "invalid or expired access token" left on /account), where
the new password works. Local accounts keep the session (test_web_account_e2e.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Server, new_page, start_server

pytestmark = pytest.mark.e2e

OLD, NEW = "E2e-Cognito-Pass-1", "E2e-Cognito-Pass-2"  # the pool's policy: mixed case, digit


@pytest.fixture(scope="module")
def cognito(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Any]]:
    from salon.testing.moto import FAKE_CREDENTIALS, moto_server
    from salon_cognito_auth.testing import make_pool

    with ExitStack() as stack:
        moto = stack.enter_context(moto_server())
        pool = make_pool(moto.endpoint_url)
        env = {
            **FAKE_CREDENTIALS,
            **pool.env(),
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": moto.endpoint_url,
        }
        server = start_server(stack, tmp_path_factory.mktemp("cognito"), env, name="cognito")
        yield server, pool


def _sign_in(page: Any, server: Server, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")


def test_a_password_change_goes_to_sign_in_and_says_why(
    browser: Any, cognito: tuple[Server, Any], failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    server, pool = cognito
    email = f"e2e-cog-{uuid.uuid4().hex[:8]}@example.com"
    signup = httpx.post(
        f"{server.url}/api/auth/signup", json={"email": email, "password": OLD}, timeout=30
    )
    assert signup.status_code == 201, signup.text
    pool.confirm(email)
    context, page, console = new_page(browser, server)
    failure_context.append(page)
    try:
        _sign_in(page, server, email, OLD)
        page.goto("/account")
        page.get_by_label("Current password").fill(OLD)
        page.get_by_label("New password").fill(NEW)
        page.get_by_role("button", name="Change password").click()
        page.wait_for_url(f"{server.url}/login")
        notice = page.locator("[data-login-notice]")
        expect(notice).to_have_text(
            "Password changed. Every session was signed out, this one too, and your API keys "
            "revoked: sign in with your new password."
        )
        assert not [c for c in context.cookies() if c["name"] == "salon_access"]
        page.reload()  # said once
        expect(notice).to_be_hidden()
        _sign_in(page, server, email, NEW)
        page.goto("/account")
        expect(page.locator("[data-user-email]")).to_have_text(email)
        # The sign-in page's check of a session it no longer has is a refused request (401),
        # shown as a failed load; nothing else may go wrong.
        problems = [e for e in console.errors if not e.startswith("Failed to load resource")]
        assert problems == [] and console.csp_violations() == [], console.errors
    finally:
        context.close()
