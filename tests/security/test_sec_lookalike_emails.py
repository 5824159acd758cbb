"""Issue 17, second outside attack, item 5: an invisible character or a lookalike letter in
an e-mail address let a new account pass as another owner ("shared by alice\\u200b@…" looked
exactly like Alice). New addresses are NFKC-normalised and refused with a clear 400 when they
hold a format character or mix scripts; accounts made before keep signing in."""

from __future__ import annotations

import pytest
from salon.db.models import LocalAccount
from salon.defaults.local_auth import LocalAuthProvider
from salon.domain.auth.addresses import INVISIBLE, MIXED_SCRIPTS, NOT_ALLOWED, new_address
from salon.errors import AuthError
from salon.testing.fixtures import TEST_PASSWORD, RunningApp


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("alice\u200b@example.com", INVISIBLE),
        ("ali\u00adce@example.com", INVISIBLE),
        ("alice\u2060@example.com", INVISIBLE),
        ("\ufeffalice@example.com", INVISIBLE),
        ("alic\u0435@example.com", MIXED_SCRIPTS),  # Cyrillic ie
        ("\u03b1lice@example.com", MIXED_SCRIPTS),  # Greek alpha
        ("alice@ex\u0430mple.com", MIXED_SCRIPTS),  # Cyrillic a in the domain
        ("carol\ufffc@example.com", NOT_ALLOWED),  # object replacement (So), invisible
        ("alice\u2800@example.com", NOT_ALLOWED),  # Braille blank (So), shows as a space
        ("\u2800carol@example.com", NOT_ALLOWED),
        ("al ice@example.com", NOT_ALLOWED),
    ],
)
async def test_lookalike_sign_ups_are_refused(
    salon_app: RunningApp, address: str, message: str
) -> None:
    answer = await salon_app.client.post(
        "/api/auth/signup", json={"email": address, "password": TEST_PASSWORD}
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == message


async def test_compatibility_forms_are_normalised(salon_app: RunningApp) -> None:
    """Fullwidth letters become the plain ones (NFKC), so fullwidth "alice" is simply alice."""
    answer = await salon_app.client.post(
        "/api/auth/signup",
        json={"email": "\uff41\uff4c\uff49\uff43\uff45@example.com", "password": TEST_PASSWORD},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["email"] == "alice@example.com"
    login = await salon_app.client.post(
        "/api/auth/login", json={"email": "alice@example.com", "password": TEST_PASSWORD}
    )
    assert login.status_code == 200, login.text


def test_one_script_addresses_pass() -> None:
    for address in (
        "bob.smith+photos@example.com",
        "\u0430\u043b\u0438\u0441\u0430@example.com",  # all Cyrillic
        "\u5c71\u7530\u305f\u308d\u3046@example.jp",  # Han and Hiragana
        "taro\u5c71\u7530@example.jp",  # Latin with Han
        "j\u00f6rg@m\u00fcller.de",
    ):
        assert new_address(address) == address
    with pytest.raises(AuthError):
        new_address("bob\u202e@example.com")


async def test_existing_accounts_still_sign_in(salon_app: RunningApp) -> None:
    """An account stored before the check (here written straight through the provider's
    table) keeps signing in: the check is for new addresses only."""
    old = "carol\u200b@example.com"
    auth = salon_app.runtime.auth
    assert isinstance(auth, LocalAuthProvider)
    hashed = auth._hasher.hash(TEST_PASSWORD)  # to store an account the old way
    async with auth._sessions() as session, session.begin():
        session.add(LocalAccount(email=old, password_hash=hashed))
    login = await salon_app.client.post(
        "/api/auth/login", json={"email": old, "password": TEST_PASSWORD}
    )
    assert login.status_code == 200, login.text
