"""The AuthProvider contract against the Cognito plugin, with moto server as Cognito."""

from __future__ import annotations

import time

import jwt
import pytest
from salon.testing.contracts.auth import (
    STRONG_PASSWORD,
    AuthProviderContract,
    ConfirmSignup,
    MakeUser,
    unique_email,
)
from salon.testing.moto import MotoServer
from salon_cognito_auth import CognitoAuthProvider
from salon_cognito_auth.testing import Pool, make_pool, moto_signing_key, unverified_claims


class TestCognitoContract(AuthProviderContract):
    # Cognito returns the same refresh token on refresh, valid until global sign-out.
    refresh_rotates = False
    reuse_revokes_session = False
    # Logout is GlobalSignOut: every session of the user ends.
    logout_scope = "user"

    @pytest.fixture
    def auth_provider(self, cognito: CognitoAuthProvider) -> CognitoAuthProvider:
        return cognito

    @pytest.fixture
    def make_user(self, auth_provider: CognitoAuthProvider, pool: Pool) -> MakeUser:
        async def make() -> tuple[str, str]:
            email = unique_email()
            result = await auth_provider.signup(email, STRONG_PASSWORD)
            assert result.confirmation_required
            pool.confirm(email)
            return email, STRONG_PASSWORD

        return make

    @pytest.fixture
    def confirm_signup(self, pool: Pool) -> ConfirmSignup:
        async def confirm(email: str) -> None:
            pool.confirm(email)

        return confirm

    @pytest.fixture
    async def expired_access_token(
        self, auth_provider: CognitoAuthProvider, make_user: MakeUser
    ) -> str:
        """A real moto token re-signed with moto's own key, expired beyond the leeway."""
        pair = await auth_provider.login(*(await make_user()))
        claims = unverified_claims(pair.access_token)
        now = int(time.time())
        claims.update(iat=now - 4000, exp=now - auth_provider.settings.leeway - 60)
        return jwt.encode(
            claims, jwt.PyJWK(moto_signing_key()).key, algorithm="RS256", headers={"kid": "dummy"}
        )


class TestCognitoContractWithClientSecret(TestCognitoContract):
    """The same contract with an app client that has a secret (SECRET_HASH on every call).

    The pool uses the e-mail as the user name itself: for REFRESH_TOKEN_AUTH the plugin computes
    SECRET_HASH from the access token's ``username`` claim, as AWS requires; moto instead checks
    it against the name used at login, and the two agree only in such pools.
    """

    @pytest.fixture
    def pool(self, aws_env: MotoServer) -> Pool:
        pool = make_pool(aws_env.endpoint_url, secret=True, email_alias=False)
        assert pool.client_secret
        return pool
