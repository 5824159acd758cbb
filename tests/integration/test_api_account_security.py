"""A stolen password stops being useful: change it (other sessions end), sign out everywhere,
or reset it with a mailed single-use link (local accounts; the default console mail sender).
Through the real app on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from salon.db.models import PasswordReset
from salon.defaults.console_mail import ConsoleMail
from salon.testing.fixtures import TEST_PASSWORD, RunningApp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

NEW_PASSWORD = "a brand new passphrase"


async def _login(app: RunningApp, email: str, password: str = TEST_PASSWORD) -> dict[str, Any]:
    response = await app.client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    tokens["headers"] = {"Authorization": f"Bearer {tokens['access_token']}"}
    return tokens


async def _works(app: RunningApp, tokens: dict[str, Any]) -> tuple[bool, bool]:
    """(access token accepted, refresh token accepted)."""
    me = await app.client.get("/api/me", headers=tokens["headers"])
    refresh = await app.client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    if refresh.status_code == 200:
        tokens["refresh_token"] = refresh.json()["refresh_token"]
    return me.status_code == 200, refresh.status_code == 200


async def _can_login(app: RunningApp, email: str, password: str) -> bool:
    response = await app.client.post("/api/auth/login", json={"email": email, "password": password})
    return response.status_code == 200


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    salon_app: RunningApp,
) -> None:
    email = await salon_app.signup()
    mine, attacker = await _login(salon_app, email), await _login(salon_app, email)
    path = "/api/auth/change-password"

    wrong = await salon_app.client.post(
        path,
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
        headers=mine["headers"],
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.json()["detail"]
    weak = await salon_app.client.post(
        path,
        json={"current_password": TEST_PASSWORD, "new_password": "short"},
        headers=mine["headers"],
    )
    assert weak.status_code == 400 and "at least 8" in weak.json()["detail"]
    anonymous = await salon_app.client.post(
        path, json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert anonymous.status_code == 401
    assert await _works(salon_app, attacker) == (True, True)  # nothing changed so far

    changed = await salon_app.client.post(
        path,
        json={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        headers=mine["headers"],
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["signed_out"] is False  # local accounts keep this session
    assert "set-cookie" not in changed.headers
    assert await _works(salon_app, attacker) == (False, False)
    assert await _works(salon_app, mine) == (True, True)
    assert not await _can_login(salon_app, email, TEST_PASSWORD)
    assert await _can_login(salon_app, email, NEW_PASSWORD)


async def test_logout_everywhere_ends_every_session(salon_app: RunningApp) -> None:
    email = await salon_app.signup()
    other_user = await salon_app.login()
    sessions = [await _login(salon_app, email) for _ in range(3)]
    out = await salon_app.client.post("/api/auth/logout-all", headers=sessions[0]["headers"])
    assert out.status_code == 200, out.text
    for tokens in sessions:
        assert await _works(salon_app, tokens) == (False, False)
    assert (await salon_app.client.get("/api/me", headers=other_user)).status_code == 200
    assert await _can_login(salon_app, email, TEST_PASSWORD)  # the password still works


async def test_cookie_session_needs_csrf_for_change_password(salon_app: RunningApp) -> None:
    email = await salon_app.signup()
    login = await salon_app.client.post(
        "/api/auth/login?session=cookie", json={"email": email, "password": TEST_PASSWORD}
    )
    assert login.status_code == 200
    body = {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}
    forged = await salon_app.client.post("/api/auth/change-password", json=body)
    assert forged.status_code == 403
    csrf = salon_app.client.cookies.get("salon_csrf")
    assert csrf
    ok = await salon_app.client.post(
        "/api/auth/change-password", json=body, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200, ok.text
    salon_app.client.cookies.clear()


async def test_a_cookie_refresh_keeps_its_tokens_out_of_the_body(salon_app: RunningApp) -> None:
    """A refresh by the HttpOnly cookie answered the tokens in JSON when the query did not say
    ``session=cookie``, so a page script could trade the cookie for tokens it can read
    (outside attacker, s29). It is a cookie session whatever the query says."""
    email = await salon_app.signup()
    login = await salon_app.client.post(
        "/api/auth/login?session=cookie", json={"email": email, "password": TEST_PASSWORD}
    )
    assert login.status_code == 200, login.text
    csrf = salon_app.client.cookies.get("salon_csrf")
    assert csrf
    refreshed = await salon_app.client.post("/api/auth/refresh", headers={"X-CSRF-Token": csrf})
    assert refreshed.status_code == 200, refreshed.text
    body = refreshed.json()
    assert body["access_token"] == body["refresh_token"] == "", body
    assert body["token_type"] == "cookie"
    set_cookies = refreshed.headers.get_list("set-cookie")
    assert any(c.startswith("salon_access=") and "HttpOnly" in c for c in set_cookies), set_cookies
    assert any(c.startswith("salon_refresh=") and "HttpOnly" in c for c in set_cookies)
    me = await salon_app.client.get("/api/me")
    assert me.status_code == 200 and me.json()["email"] == email
    salon_app.client.cookies.clear()


async def test_an_unknown_session_kind_is_refused(salon_app: RunningApp) -> None:
    """``?session=bogus`` gave bearer tokens without a word; only ``cookie`` is a kind."""
    email = await salon_app.signup()
    answer = await salon_app.client.post(
        "/api/auth/login?session=bogus", json={"email": email, "password": TEST_PASSWORD}
    )
    assert answer.status_code == 400, answer.text
    # Said in words, not as a list's repr (second outside attacker, s29).
    assert answer.json()["detail"].endswith("session (query): Invalid enum value 'bogus'")
    assert "ParamType" not in answer.text and "[{" not in answer.text
    assert not salon_app.client.cookies


@asynccontextmanager
async def database(url: str) -> AsyncIterator[AsyncSession]:
    """A session of our own: the app's engine lives on the test client's event loop."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            yield session
    finally:
        await engine.dispose()


def _mailbox(app: RunningApp) -> ConsoleMail:
    mail = app.runtime.mail
    assert isinstance(mail, ConsoleMail)
    return mail


def _code_of(text: str) -> tuple[str, str, str]:
    link = next(line for line in text.splitlines() if "/reset-password#" in line)
    parts = urlsplit(link)
    fragment = parse_qs(parts.fragment)
    return parts.path, fragment["email"][0], fragment["code"][0]


async def test_forgot_password_mails_a_single_use_link(
    salon_app: RunningApp, salon_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    email = await salon_app.signup()
    session = await _login(salon_app, email)
    mailbox = _mailbox(salon_app)

    unknown = await salon_app.client.post(
        "/api/auth/forgot-password", json={"email": "nobody@example.com"}
    )
    known = await salon_app.client.post("/api/auth/forgot-password", json={"email": email})
    assert unknown.status_code == known.status_code == 200
    assert unknown.json() == known.json()  # nothing tells which addresses have accounts
    assert [m.to for m in mailbox.sent] == [email]
    again = await salon_app.client.post("/api/auth/forgot-password", json={"email": email})
    assert again.status_code == 200 and len(mailbox.sent) == 1  # one a minute per account

    path, link_email, code = _code_of(mailbox.sent[0].text)
    assert path == "/reset-password" and link_email == email
    # SALON_PUBLIC_URL is unset here: the link is absolute (a mail reader cannot resolve a
    # relative one) to the address the request reached, whose Host named it; a Host the
    # sender chose is not followed (test_a_reset_link_never_follows_the_host_header).
    origin = str(salon_app.client.base_url).rstrip("/")
    assert origin.startswith("http://127.0.0.1:")
    assert f"\n{origin}/reset-password#" in mailbox.sent[0].text
    async with database(salon_database) as db:
        stored = (await db.scalars(select(PasswordReset.token_hash))).all()
    assert stored == [hashlib.sha256(code.encode()).hexdigest()]  # only the hash at rest

    url = "/api/auth/confirm-forgot-password"
    for bad in (
        {"email": email, "code": code[:-2] + "xx", "password": NEW_PASSWORD},
        {"email": "nobody@example.com", "code": code, "password": NEW_PASSWORD},
    ):
        refused = await salon_app.client.post(url, json=bad)
        assert refused.status_code == 400 and "reset link" in refused.json()["detail"]
    done = await salon_app.client.post(
        url, json={"email": email, "code": code, "password": NEW_PASSWORD}
    )
    assert done.status_code == 200, done.text
    assert await _works(salon_app, session) == (False, False)
    assert await _can_login(salon_app, email, NEW_PASSWORD)
    reused = await salon_app.client.post(
        url, json={"email": email, "code": code, "password": "yet another passphrase"}
    )
    assert reused.status_code == 400
    assert await _can_login(salon_app, email, NEW_PASSWORD)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert code in logged  # the console sender shows the operator the link ...
    assert NEW_PASSWORD not in logged and TEST_PASSWORD not in logged  # ... never a password


async def test_an_expired_reset_link_is_refused(salon_app: RunningApp, salon_database: str) -> None:
    email = await salon_app.signup()
    await salon_app.client.post("/api/auth/forgot-password", json={"email": email})
    _path, _email, code = _code_of(_mailbox(salon_app).sent[-1].text)
    async with database(salon_database) as db, db.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await db.execute(update(PasswordReset).values(expires_at=past))
    expired = await salon_app.client.post(
        "/api/auth/confirm-forgot-password",
        json={"email": email, "code": code, "password": NEW_PASSWORD},
    )
    assert expired.status_code == 400
    assert await _can_login(salon_app, email, TEST_PASSWORD)


async def test_a_reset_link_never_follows_the_host_header(salon_app: RunningApp) -> None:
    """Reset-link poisoning: a forgot-password request with a forged Host must not mail the
    victim a link to the attacker's host (its code would reach the attacker)."""
    email = await salon_app.signup()
    mailbox = _mailbox(salon_app)
    forged = await salon_app.client.post(
        "/api/auth/forgot-password", json={"email": email}, headers={"Host": "evil.example"}
    )
    assert forged.status_code == 200
    (mail,) = mailbox.sent
    assert "evil.example" not in mail.text
    path, link_email, _code = _code_of(mail.text)
    assert path == "/reset-password" and link_email == email
