"""Contract suite for :class:`salon.providers.AuthProvider`.

Subclass :class:`AuthProviderContract` in a test module and supply three fixtures::

    class TestMyAuth(AuthProviderContract):
        @pytest.fixture
        async def auth_provider(self) -> AuthProvider: ...

        @pytest.fixture
        def make_user(self, auth_provider) -> MakeUser:
            # an async function returning (email, password) of a new, confirmed user
            ...

        @pytest.fixture
        async def expired_access_token(self, auth_provider, make_user) -> str:
            # a genuine access token of a live session whose expiry has passed
            ...

A fourth, ``confirm_signup`` (an async function confirming an e-mail's signup), is needed only
when ``signup`` answers ``confirmation_required``.

Providers differ in a few documented ways; say which with the class attributes below, and the
suite checks the semantics you declare instead of skipping the check:

- ``refresh_rotates``: ``refresh`` returns a new refresh token and the old one is refused from
  then on (local auth). ``False``: the same refresh token comes back and stays valid until
  logout (Amazon Cognito).
- ``reuse_revokes_session``: presenting a rotated refresh token again revokes its session
  (theft detection). Only meaningful with ``refresh_rotates``.
- ``logout_scope``: ``"session"`` when logout ends only the session of the given token,
  ``"user"`` when it ends every session of the user (Cognito's global sign-out).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import ClassVar, Literal

import pytest

from salon.errors import AuthError, InvalidToken
from salon.providers import AuthProvider, Identity, SignupResult, TokenPair

__all__ = ["AuthProviderContract", "ConfirmSignup", "MakeUser", "unique_email"]

MakeUser = Callable[[], Awaitable[tuple[str, str]]]
"""The ``make_user`` fixture's type: returns ``(email, password)`` of a loginable user."""

ConfirmSignup = Callable[[str], Awaitable[None]]
"""The optional ``confirm_signup`` fixture's type: confirms the signup of an e-mail."""

STRONG_PASSWORD = "Correct-Horse-9-Battery!"  # noqa: S105 - a test password that meets policies


def unique_email(prefix: str = "user") -> str:
    """An address no other test uses (lower case, so providers need not normalize it)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _tampered(token: str) -> str:
    """The same token with a changed ``sub`` claim and the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64(payload))
    claims["sub"] = str(uuid.uuid4())
    return ".".join([header, _b64(json.dumps(claims).encode()), signature])


def _alg_none(token: str) -> str:
    """The token's claims under an ``alg: none`` header and no signature."""
    _header, payload, _signature = token.split(".")
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{payload}."


def _bad_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    raw = bytearray(_unb64(signature))
    raw[len(raw) // 2] ^= 0xFF
    return ".".join([header, payload, _b64(bytes(raw))])


@pytest.mark.asyncio
class AuthProviderContract:
    """The behaviour every auth provider owes the core. See the module docstring."""

    refresh_rotates: ClassVar[bool] = True
    reuse_revokes_session: ClassVar[bool] = True
    logout_scope: ClassVar[Literal["session", "user"]] = "session"

    # -------------------------------------------------------------- fixtures to supply

    @pytest.fixture
    def auth_provider(self) -> AuthProvider:
        raise NotImplementedError("supply an `auth_provider` fixture in your subclass")

    @pytest.fixture
    def make_user(self) -> MakeUser:
        raise NotImplementedError("supply a `make_user` fixture in your subclass")

    @pytest.fixture
    def expired_access_token(self) -> str:
        raise NotImplementedError("supply an `expired_access_token` fixture in your subclass")

    @pytest.fixture
    def confirm_signup(self) -> ConfirmSignup:
        """Optional: confirm a signed-up e-mail out of band (as the user's code would). The
        default does nothing, which suits providers whose signup needs no confirmation."""

        async def confirm(email: str) -> None:
            return None

        return confirm

    # -------------------------------------------------------------- the contract

    async def test_provider_satisfies_protocol(self, auth_provider: AuthProvider) -> None:
        assert isinstance(auth_provider, AuthProvider)

    async def test_login_gives_a_token_pair(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        email, password = await make_user()
        pair = await auth_provider.login(email, password)
        assert isinstance(pair, TokenPair)
        assert pair.access_token and pair.refresh_token
        assert pair.access_token != pair.refresh_token
        assert pair.token_type == "bearer"  # noqa: S105 - not a secret
        assert pair.expires_in > 0

    async def test_authenticate_round_trip(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        email, password = await make_user()
        first = await auth_provider.authenticate(
            (await auth_provider.login(email, password)).access_token
        )
        second = await auth_provider.authenticate(
            (await auth_provider.login(email, password)).access_token
        )
        assert isinstance(first, Identity)
        assert first.subject, "subject must be a non-empty, stable id"
        assert first.subject == second.subject
        assert first.email == email

    async def test_users_have_distinct_subjects(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        a = await make_user()
        b = await make_user()
        ida = await auth_provider.authenticate((await auth_provider.login(*a)).access_token)
        idb = await auth_provider.authenticate((await auth_provider.login(*b)).access_token)
        assert ida.subject != idb.subject

    async def test_email_is_normalized(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        email, password = await make_user()
        pair = await auth_provider.login(f"  {email.upper()} ", password)
        identity = await auth_provider.authenticate(pair.access_token)
        assert identity.email == email

    async def test_wrong_password_and_unknown_user_look_the_same(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        email, password = await make_user()
        with pytest.raises(AuthError) as wrong:
            await auth_provider.login(email, password + "x")
        with pytest.raises(AuthError) as unknown:
            await auth_provider.login(unique_email("nobody"), password)
        assert wrong.value.code == unknown.value.code == "invalid_credentials"
        assert str(wrong.value) == str(unknown.value)
        assert email not in str(wrong.value)

    async def test_signup_reports_existing_user(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        email, password = await make_user()
        with pytest.raises(AuthError) as caught:
            await auth_provider.signup(email, password)
        assert caught.value.code == "user_exists"

    async def test_signup_refuses_weak_password(self, auth_provider: AuthProvider) -> None:
        with pytest.raises(AuthError) as caught:
            await auth_provider.signup(unique_email(), "short")
        assert caught.value.code == "weak_password"

    async def test_signup_returns_identity(self, auth_provider: AuthProvider) -> None:
        email = unique_email()
        result = await auth_provider.signup(email, STRONG_PASSWORD)
        assert isinstance(result, SignupResult)
        assert result.identity.subject
        assert result.identity.email == email

    async def test_signup_subject_is_the_token_subject(
        self, auth_provider: AuthProvider, confirm_signup: ConfirmSignup
    ) -> None:
        """The core maps the identity from signup and the one from each token to one user: the
        two subjects must be the same, or the account would get two user ids."""
        email = unique_email()
        result = await auth_provider.signup(email, STRONG_PASSWORD)
        if result.confirmation_required:
            await confirm_signup(email)
        pair = await auth_provider.login(email, STRONG_PASSWORD)
        identity = await auth_provider.authenticate(pair.access_token)
        assert identity.subject == result.identity.subject

    async def test_refresh_gives_a_working_access_token(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        email, password = await make_user()
        pair = await auth_provider.login(email, password)
        before = await auth_provider.authenticate(pair.access_token)
        renewed = await auth_provider.refresh(pair.refresh_token)
        assert isinstance(renewed, TokenPair)
        assert renewed.expires_in > 0
        after = await auth_provider.authenticate(renewed.access_token)
        assert after.subject == before.subject

    async def test_refresh_rotation_semantics(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        pair = await auth_provider.login(*(await make_user()))
        renewed = await auth_provider.refresh(pair.refresh_token)
        if self.refresh_rotates:
            assert renewed.refresh_token != pair.refresh_token
            with pytest.raises(InvalidToken):
                await auth_provider.refresh(pair.refresh_token)
        else:
            assert renewed.refresh_token == pair.refresh_token
            again = await auth_provider.refresh(pair.refresh_token)
            await auth_provider.authenticate(again.access_token)

    async def test_refresh_reuse_revokes_the_session(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        if not (self.refresh_rotates and self.reuse_revokes_session):
            pytest.skip("provider declares no refresh-token reuse detection")
        pair = await auth_provider.login(*(await make_user()))
        renewed = await auth_provider.refresh(pair.refresh_token)
        with pytest.raises(InvalidToken):
            await auth_provider.refresh(pair.refresh_token)  # the "thief" replays the old one
        with pytest.raises(InvalidToken):
            await auth_provider.refresh(renewed.refresh_token)
        with pytest.raises(InvalidToken):
            await auth_provider.authenticate(renewed.access_token)

    async def test_logout_revokes(self, auth_provider: AuthProvider, make_user: MakeUser) -> None:
        pair = await auth_provider.login(*(await make_user()))
        await auth_provider.authenticate(pair.access_token)
        await auth_provider.logout(pair.access_token)
        with pytest.raises(InvalidToken):
            await auth_provider.authenticate(pair.access_token)
        with pytest.raises(InvalidToken):
            await auth_provider.refresh(pair.refresh_token)

    async def test_logout_scope(self, auth_provider: AuthProvider, make_user: MakeUser) -> None:
        email, password = await make_user()
        first = await auth_provider.login(email, password)
        second = await auth_provider.login(email, password)
        await auth_provider.logout(first.access_token)
        if self.logout_scope == "session":
            identity = await auth_provider.authenticate(second.access_token)
            assert identity.email == email
        else:
            with pytest.raises(InvalidToken):
                await auth_provider.authenticate(second.access_token)

    async def test_expired_access_token_is_refused(
        self, auth_provider: AuthProvider, expired_access_token: str
    ) -> None:
        with pytest.raises(InvalidToken):
            await auth_provider.authenticate(expired_access_token)

    @pytest.mark.parametrize(
        "token",
        ["", "garbage", "a.b.c", "a.b", "...", "x" * 10_000, "eyJhbGciOiJub25lIn0.e30.", "é.é.é"],
    )
    async def test_garbage_tokens_are_refused(
        self, auth_provider: AuthProvider, token: str
    ) -> None:
        with pytest.raises(InvalidToken):
            await auth_provider.authenticate(token)

    @pytest.mark.parametrize("forge", [_tampered, _alg_none, _bad_signature])
    async def test_forged_tokens_are_refused(
        self,
        auth_provider: AuthProvider,
        make_user: MakeUser,
        forge: Callable[[str], str],
    ) -> None:
        pair = await auth_provider.login(*(await make_user()))
        with pytest.raises(InvalidToken):
            await auth_provider.authenticate(forge(pair.access_token))

    async def test_refresh_token_is_not_an_access_token(
        self, auth_provider: AuthProvider, make_user: MakeUser
    ) -> None:
        pair = await auth_provider.login(*(await make_user()))
        with pytest.raises(InvalidToken):
            await auth_provider.authenticate(pair.refresh_token)

    @pytest.mark.parametrize("token", ["", "garbage", "x" * 5000])
    async def test_garbage_refresh_tokens_are_refused(
        self, auth_provider: AuthProvider, token: str
    ) -> None:
        with pytest.raises(InvalidToken):
            await auth_provider.refresh(token)

    async def test_logout_with_garbage_is_refused(self, auth_provider: AuthProvider) -> None:
        with pytest.raises(InvalidToken):
            await auth_provider.logout("garbage")
