"""SALON_SIGNUP_ENABLED=false (the Terraform variable allow_self_signup = false): the sign-up
route refuses with 403 and a message, creates no account, and the sign-up page says why
instead of showing a form. Administrators still create accounts with `salon user create`."""

from __future__ import annotations

from pathlib import Path

from salon.domain.auth.services import SIGNUP_CLOSED
from salon.testing.fixtures import TEST_PASSWORD, running_app


async def test_closed_signup_is_refused_and_said_on_the_page(tmp_path: Path) -> None:
    async with running_app(tmp_path, env={"SALON_SIGNUP_ENABLED": "false"}) as app:
        answer = await app.client.post(
            "/api/auth/signup", json={"email": "eve@example.com", "password": TEST_PASSWORD}
        )
        assert answer.status_code == 403
        assert answer.json()["detail"] == SIGNUP_CLOSED
        login = await app.client.post(
            "/api/auth/login", json={"email": "eve@example.com", "password": TEST_PASSWORD}
        )
        assert login.status_code == 401, "a refused sign-up must leave no account behind"

        page = await app.client.get("/signup", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert SIGNUP_CLOSED in page.text
        assert "data-signup-form" not in page.text


async def test_open_signup_shows_the_form(tmp_path: Path) -> None:
    async with running_app(tmp_path) as app:
        page = await app.client.get("/signup", headers={"Accept": "text/html"})
        assert "data-signup-form" in page.text
        assert SIGNUP_CLOSED not in page.text
