"""Issue 17 item 5 follow-up: an address written wholly in another script that looks like an
existing account's (Cyrillic "\\u0430dmin", an all-Cyrillic or all-Greek local part) signed
up and showed as that account. Now every way an account gets an address (sign-up, ``salon user
create``'s provider call, a provider's first sign-in or change of address, a pending sign-up's
confirmation) refuses one whose UTS #39 skeleton is an existing account's; sign-up answers it
as it answers a taken address. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from salon.db.models import LocalAccount, User
from salon.defaults.local_auth import LocalAuthProvider
from salon.domain.auth.lookalikes import LOOKALIKE, email_skeleton
from salon.domain.auth.services import user_for_identity
from salon.errors import AuthError
from salon.providers import Identity, MailMessage
from salon.testing.fixtures import TEST_PASSWORD, RunningApp, running_app
from sqlalchemy import func, select

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

ADMIN = "copex@example.com"
LOOKALIKES = [
    "\u0441\u043e\u0440\u0435\u0445@example.com",  # an all-Cyrillic local part
    "\u0421\u041e\u0420\u0415\u0425@example.com",  # the same in capitals
]
WHOLE_SCRIPT = [
    ("papa@example.com", "\u03c1\u03b1\u03c1\u03b1@example.com"),  # all Greek
    ("admin@copex.com", "admin@\u0441\u043e\u0440\u0435\u0445.com"),  # a Cyrillic domain label
    ("mary@example.com", "rnary@example.com"),  # Latin too: rn looks like m
]
# The third outside attack's: the table maps 0 to a capital O (the key is now case-folded), and
# a combining dot over a dotless i shows as i (the key loses nonspacing marks).
FOLDED = [
    ("bob@example.com", "b0b@example.com"),
    ("oscar@example.com", "0scar@example.com"),
    ("alice@example.com", "al\u0131\u0307ce@example.com"),
]


@pytest.fixture
async def app(tmp_path: Path, salon_database: str) -> AsyncIterator[RunningApp]:
    async with running_app(tmp_path / "data", database_url=salon_database) as running:
        yield running


async def _signup(app: RunningApp, email: str) -> tuple[int, dict[str, object]]:
    answer = await app.client.post(
        "/api/auth/signup", json={"email": email, "password": TEST_PASSWORD}
    )
    return answer.status_code, answer.json()


async def _count(app: RunningApp, model: type[User] | type[LocalAccount]) -> int:
    async def count() -> int:
        async with app.runtime.session_maker() as session:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return await app.call(count)  # on the app's loop, where its pool lives (PostgreSQL)


async def test_lookalikes_get_the_taken_answer_and_no_account(app: RunningApp) -> None:
    await app.signup(ADMIN)
    taken_status, taken = await _signup(app, ADMIN)
    users, accounts = await _count(app, User), await _count(app, LocalAccount)
    for lookalike in LOOKALIKES:
        status, body = await _signup(app, lookalike)
        # The very answer a taken address gets (a fresh id, the address as sent, lower-case).
        assert (status, set(body)) == (taken_status, set(taken)) == (201, set(taken))
        assert body["email"] == lookalike.lower()
        assert body["confirmation_required"] == taken["confirmation_required"]
        login = await app.client.post(
            "/api/auth/login", json={"email": lookalike, "password": TEST_PASSWORD}
        )
        assert login.status_code == 401, login.text
    assert (await _count(app, User), await _count(app, LocalAccount)) == (users, accounts)


async def test_whole_script_lookalikes_are_refused(app: RunningApp) -> None:
    for latin, lookalike in [*WHOLE_SCRIPT, *FOLDED]:
        await app.signup(latin)
        users = await _count(app, User)
        assert (await _signup(app, lookalike))[0] == 201
        assert await _count(app, User) == users, lookalike
        login = await app.client.post(
            "/api/auth/login", json={"email": lookalike, "password": TEST_PASSWORD}
        )
        assert login.status_code == 401, (lookalike, login.text)
        login = await app.client.post(
            "/api/auth/login", json={"email": lookalike, "password": TEST_PASSWORD}
        )
        assert login.status_code == 401


async def test_genuine_non_latin_addresses_sign_up(app: RunningApp) -> None:
    await app.signup("alisa@example.com")
    for genuine in ("\u0430\u043b\u0438\u0441\u0430@example.com", "\u5c71\u7530@example.jp"):
        headers = await app.login(genuine)
        me = await app.client.get("/api/me", headers=headers)
        assert me.status_code == 200 and me.json()["email"] == genuine


async def test_the_provider_refuses_them_too(app: RunningApp) -> None:
    """``salon user create`` reaches the provider with ``confirmed=True``."""
    await app.signup(ADMIN)
    auth = app.runtime.auth
    assert isinstance(auth, LocalAuthProvider)
    with pytest.raises(AuthError) as refused:
        await app.call(lambda: auth.signup(LOOKALIKES[0], TEST_PASSWORD, confirmed=True))
    assert (refused.value.code, str(refused.value)) == ("user_exists", LOOKALIKE)


async def test_a_first_sign_in_or_a_new_address_from_a_provider(app: RunningApp) -> None:
    """A provider's own sign-up (Cognito's hosted UI) or change of address bypasses Salon's
    sign-up: the user row refuses a lookalike there (403), and keeps its old address."""
    await app.signup(ADMIN)

    async def provider_sign_ins() -> None:
        async with app.runtime.session_maker() as session:
            with pytest.raises(AuthError) as refused:
                await user_for_identity(session, "cognito", Identity("sub-1", LOOKALIKES[0]))
            assert refused.value.code == "lookalike_email"
            bob = await user_for_identity(session, "cognito", Identity("sub-2", "bob@example.com"))
            assert bob.email_skeleton == email_skeleton("bob@example.com")
            same = await user_for_identity(session, "cognito", Identity("sub-2", LOOKALIKES[0]))
            assert same.email == "bob@example.com"
            moved = await user_for_identity(
                session, "cognito", Identity("sub-2", "rob@example.com")
            )
            assert (moved.email, moved.email_skeleton) == (
                "rob@example.com",
                email_skeleton("rob@example.com"),
            )

    await app.call(provider_sign_ins)
    answer = await app.client.get("/api/me", headers=await app.login())
    assert answer.status_code == 200


class _Mailbox:
    def __init__(self) -> None:
        self.sent: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        self.sent.append(message)

    async def check(self) -> None:
        return None


async def test_pending_sign_ups_hold_no_address(app: RunningApp) -> None:
    """With mailed codes, a lookalike sign-up never confirmed does not keep the real owner out,
    and once the owner has the account it cannot be confirmed; its author is told why."""

    async def sign_ups() -> None:
        mailbox = _Mailbox()
        auth = LocalAuthProvider(
            app.runtime.session_maker,
            secret_key="k" * 32,
            mail=mailbox,
            signup_confirm=True,
        )
        squat = LOOKALIKES[0]
        pending = await auth.signup(squat, TEST_PASSWORD)
        async with app.runtime.session_maker() as session:
            await user_for_identity(session, "local", pending.identity)  # as the sign-up route does
        code = mailbox.sent[-1].text.split("code is ")[1][:12]
        owner = await auth.signup(ADMIN, TEST_PASSWORD)
        async with app.runtime.session_maker() as session:
            await user_for_identity(session, "local", owner.identity)
        await auth.confirm(ADMIN, mailbox.sent[-1].text.split("code is ")[1][:12])
        with pytest.raises(AuthError) as refused:
            await auth.confirm(squat, code)
        assert refused.value.code == "lookalike_email"
        with pytest.raises(AuthError):
            await auth.login(squat, TEST_PASSWORD)
        # A new try is refused like a taken address, and its mailbox is told why (no code).
        with pytest.raises(AuthError) as again:
            await auth.signup(squat.upper(), TEST_PASSWORD)
        assert again.value.code == "user_exists"
        note = mailbox.sent[-1]
        assert note.to == squat and "looks too much like" in note.text and "code" not in note.text

    await app.call(sign_ups)
