"""Sign-up with SALON_SIGNUP_CONFIRM in a real browser (issue 17.16): the page asks for the
code mailed to the address (the console sender writes it to the server log), then signs in;
a sign-up for an address that already has an account shows the same code form, and no code
mailed to anyone opens that account."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from .conftest import PASSWORD, Server, new_page, start_server, unlabelled

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def confirming(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with ExitStack() as stack:
        yield start_server(
            stack,
            tmp_path_factory.mktemp("signup-confirm"),
            {"SALON_SIGNUP_CONFIRM": "true"},
            name="signup-confirm",
        )


def _code(server: Server, email: str) -> str:
    pattern = re.compile(re.escape(f"to {email}:") + r"[^\n]*\n[^\n]*?code is (\d{12})")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = pattern.findall(server.log_path.read_text(errors="replace"))
        if found:
            return str(found[-1])
        time.sleep(0.2)
    pytest.fail(f"no code mailed to {email}:\n{server.log_tail()}")


def _sign_up(page: Any, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("[data-confirm-email]")).to_have_text(email)


def test_signup_asks_for_the_mailed_code(
    browser: Any, confirming: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    email = f"confirm-{uuid.uuid4().hex[:8]}@example.com"
    context, page, console = new_page(browser, confirming)
    failure_context.append(page)
    _sign_up(page, email, PASSWORD)
    assert unlabelled(page) == []
    page.get_by_label("Confirmation code").fill("000000000000")
    page.get_by_role("button", name="Confirm and sign in").click()
    expect(page.locator("[data-confirm-error]")).to_contain_text("code is wrong or expired")
    page.get_by_label("Confirmation code").fill(_code(confirming, email))
    page.get_by_role("button", name="Confirm and sign in").click()
    page.wait_for_url(f"{confirming.url}/")
    expect(page.locator("[data-user-email]")).to_have_text(email)
    context.close()

    # Someone else signs up the same address: the same form, and nothing opens the account.
    other, other_page, _ = new_page(browser, confirming)
    failure_context.append(other_page)
    _sign_up(other_page, email, "someone else's password")
    other_page.get_by_label("Confirmation code").fill("123456789012")
    other_page.get_by_role("button", name="Confirm and sign in").click()
    expect(other_page.locator("[data-confirm-error]")).to_contain_text("code is wrong or expired")
    other.close()
    problems = [e for e in console.errors if not e.startswith("Failed to load resource")]
    assert problems == [] and console.csp_violations() == [], console.errors
