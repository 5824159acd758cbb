"""The Cognito provider's own behaviour on moto server: settings and plugin wiring, the boto3
client from the standard chain, error mapping, password reset, revocation checks, outages."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from salon.errors import AuthError, ConfigurationError, InvalidToken, ProviderError
from salon.plugins import collect_registry, make_plugin_manager
from salon.providers import AccountSecurity, ProviderContext
from salon.runtime import load_settings
from salon.testing.contracts.auth import STRONG_PASSWORD, unique_email
from salon.testing.moto import MotoServer
from salon_cognito_auth import CognitoAuthProvider, CognitoSettings
from salon_cognito_auth.testing import Pool

# ------------------------------------------------------------------ settings and wiring


def test_settings_require_pool_client_and_region() -> None:
    with pytest.raises(ConfigurationError) as caught:
        CognitoAuthProvider(CognitoSettings())
    message = str(caught.value)
    for name in ("SALON_COGNITO_USER_POOL_ID", "SALON_COGNITO_CLIENT_ID", "SALON_COGNITO_REGION"):
        assert name in message


def test_region_issuer_and_jwks_url_defaults() -> None:
    settings = CognitoSettings(user_pool_id="eu-central-1_AbC123", client_id="c")
    assert settings.effective_region == "eu-central-1"
    assert settings.issuer == "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_AbC123"
    assert settings.effective_jwks_url == settings.issuer + "/.well-known/jwks.json"
    override = CognitoSettings(
        user_pool_id="eu-central-1_AbC123", client_id="c", jwks_url="http://127.0.0.1:1/k.json"
    )
    assert override.issuer == settings.issuer  # the override never changes the issuer
    assert override.effective_jwks_url == "http://127.0.0.1:1/k.json"


def test_client_secret_never_in_repr() -> None:
    settings = CognitoSettings(user_pool_id="p", client_id="c", client_secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(settings)


@pytest.mark.parametrize("field", [{"leeway": -1}, {"leeway": 3600}, {"jwks_refresh_interval": 0}])
def test_bad_settings_values_are_refused(field: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        CognitoSettings(user_pool_id="p", client_id="c", **field)  # type: ignore[arg-type]


def test_entry_point_offers_cognito_and_settings_parse(pool: Pool, tmp_path: Path) -> None:
    env = {"SALON_DATA_DIR": str(tmp_path), "SALON_SECRET_KEY": "k" * 40, **pool.env()}
    env["SALON_COGNITO_LEEWAY"] = "10"
    settings, _pm, registry = load_settings(env)
    offer = registry.offer("auth", "cognito")
    assert offer.plugin == "cognito_auth"
    parsed = settings.plugin("COGNITO")
    assert isinstance(parsed, CognitoSettings)
    assert parsed.leeway == 10 and parsed.user_pool_id == pool.id
    provider = registry.build(
        "auth", "cognito", ProviderContext(core=settings.core, settings=parsed, data_dir=tmp_path)
    )
    assert isinstance(provider, CognitoAuthProvider)
    assert provider.jwks.kids == {"dummy"}  # fetched at start-up


def test_unknown_cognito_setting_stops_start_up(pool: Pool, tmp_path: Path) -> None:
    env = {"SALON_DATA_DIR": str(tmp_path), **pool.env(), "SALON_COGNITO_USERPOOL": "typo"}
    with pytest.raises(ConfigurationError) as caught:
        load_settings(env)
    assert "SALON_COGNITO_USERPOOL" in str(caught.value)


def test_plugin_registers_settings_prefix() -> None:
    registry = collect_registry(make_plugin_manager())
    assert registry.settings_types["COGNITO"] == (CognitoSettings, "cognito_auth")


# ------------------------------------------------------------------ boto3 client


async def test_client_comes_lazily_from_the_standard_chain(pool: Pool) -> None:
    provider = CognitoAuthProvider(pool.settings())  # no factory: boto3's own chain
    assert not provider._client.made
    result = await provider.signup(unique_email(), STRONG_PASSWORD)  # via AWS_ENDPOINT_URL
    assert result.identity.subject
    client = provider.client
    assert provider.client is client
    assert client.meta.config.retries["mode"] == "standard"
    assert client.meta.config.connect_timeout == 3


# ------------------------------------------------------------------ account flows


async def test_signup_errors(cognito: CognitoAuthProvider) -> None:
    cases = {
        "alllowercase1": "weak_password",  # Cognito's pool policy (needs an upper-case letter)
        "Sh0rt": "weak_password",  # under Cognito's API minimum: refused before the call
    }
    for password, code in cases.items():
        with pytest.raises(AuthError) as caught:
            await cognito.signup(unique_email(), password)
        assert caught.value.code == code
    with pytest.raises(AuthError) as caught:
        await cognito.signup("not-an-email", STRONG_PASSWORD)
    assert caught.value.code == "invalid_email"


async def test_login_before_confirmation(cognito: CognitoAuthProvider, pool: Pool) -> None:
    email = unique_email()
    assert (await cognito.signup(email, STRONG_PASSWORD)).confirmation_required
    with pytest.raises(AuthError) as caught:
        await cognito.login(email, STRONG_PASSWORD)
    assert caught.value.code == "not_confirmed"
    await cognito.confirm(email, "123456")  # moto does not check sign-up codes
    await cognito.login(email, STRONG_PASSWORD)


async def test_login_needing_a_challenge_is_refused_clearly(
    cognito: CognitoAuthProvider, pool: Pool
) -> None:
    email = unique_email()
    pool.admin.admin_create_user(
        UserPoolId=pool.id, Username=email, TemporaryPassword="Temp-Pass-123"
    )
    with pytest.raises(AuthError) as caught:
        await cognito.login(email, "Temp-Pass-123")
    assert caught.value.code == "unsupported"
    assert "NEW_PASSWORD_REQUIRED" in str(caught.value)


async def test_forgot_and_confirm_forgot_password(cognito: CognitoAuthProvider, pool: Pool) -> None:
    email = unique_email()
    await cognito.signup(email, STRONG_PASSWORD)
    pool.confirm(email)
    await cognito.forgot_password(unique_email("nobody"))  # unknown users: silent success
    await cognito.forgot_password(email)
    with pytest.raises(AuthError) as caught:
        await cognito.confirm_forgot_password(email, "moto-confirmation-code:000000", "New-Pass-99")
    assert caught.value.code == "invalid_code"
    # moto returns the code it "sent" in a header; ask for one the way a test user would read mail.
    answer = pool.admin.forgot_password(ClientId=pool.client_id, Username=email)
    code = answer["ResponseMetadata"]["HTTPHeaders"]["x-moto-forgot-password-confirmation-code"]
    await cognito.confirm_forgot_password(email, code, "New-Pass-99")
    await cognito.login(email, "New-Pass-99")
    with pytest.raises(AuthError):
        await cognito.login(email, STRONG_PASSWORD)


# ------------------------------------------------------------------ revocation


class CountingClient:
    """The real boto3 client, counting GetUser calls (a spy, not a mock)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.get_user_calls = 0

    def get_user(self, **kwargs: Any) -> Any:
        self.get_user_calls += 1
        return self._client.get_user(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class Clock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def provider_with(
    pool: Pool, moto: MotoServer, **settings: Any
) -> tuple[CognitoAuthProvider, CountingClient, Clock]:
    client = CountingClient(
        boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=moto.endpoint_url)
    )
    clock = Clock()
    provider = CognitoAuthProvider(
        pool.settings(**settings), client_factory=lambda: client, clock=clock
    )
    provider.jwks.load()
    return provider, client, clock


async def user(provider: CognitoAuthProvider, pool: Pool) -> tuple[str, str]:
    email = unique_email()
    await provider.signup(email, STRONG_PASSWORD)
    pool.confirm(email)
    return email, STRONG_PASSWORD


async def test_get_user_check_is_cached_for_the_interval(pool: Pool, aws_env: MotoServer) -> None:
    provider, client, clock = provider_with(pool, aws_env, revocation_check_interval=60)
    pair = await provider.login(*(await user(provider, pool)))
    for _ in range(5):
        identity = await provider.authenticate(pair.access_token)
    assert client.get_user_calls == 1
    assert identity.email and identity.email.endswith("@example.com")
    # A sign-out made elsewhere (another process, the console) shows after the interval.
    pool.admin.global_sign_out(AccessToken=pair.access_token)
    await provider.authenticate(pair.access_token)  # still inside the trusted interval
    clock.offset += 61
    with pytest.raises(InvalidToken):
        await provider.authenticate(pair.access_token)
    assert client.get_user_calls == 2


async def test_a_sign_out_elsewhere_shows_within_seconds_by_default(
    pool: Pool, aws_env: MotoServer
) -> None:
    provider, client, clock = provider_with(pool, aws_env)  # default settings
    assert provider.settings.revocation_check_interval <= 5
    assert provider.settings.fail_open is False
    pair = await provider.login(*(await user(provider, pool)))
    await provider.authenticate(pair.access_token)
    pool.admin.global_sign_out(AccessToken=pair.access_token)
    clock.offset += provider.settings.revocation_check_interval + 1
    with pytest.raises(InvalidToken):
        await provider.authenticate(pair.access_token)
    assert client.get_user_calls == 2


async def test_interval_zero_checks_every_request(pool: Pool, aws_env: MotoServer) -> None:
    provider, client, _clock = provider_with(pool, aws_env, revocation_check_interval=0)
    pair = await provider.login(*(await user(provider, pool)))
    await provider.authenticate(pair.access_token)
    await provider.authenticate(pair.access_token)
    assert client.get_user_calls == 2
    pool.admin.global_sign_out(AccessToken=pair.access_token)
    with pytest.raises(InvalidToken):
        await provider.authenticate(pair.access_token)


async def test_logout_here_refuses_older_tokens_without_a_call(
    pool: Pool, aws_env: MotoServer
) -> None:
    provider, client, clock = provider_with(pool, aws_env)
    credentials = await user(provider, pool)
    first = await provider.login(*credentials)
    second = await provider.login(*credentials)
    clock.offset += 5  # the sign-out happens seconds after the tokens were issued
    await provider.logout(first.access_token)
    calls = client.get_user_calls
    with pytest.raises(InvalidToken):
        await provider.authenticate(second.access_token)
    assert client.get_user_calls == calls  # refused from the local record alone


async def test_token_issued_in_the_sign_out_second_is_checked_with_cognito(
    pool: Pool, aws_env: MotoServer
) -> None:
    provider, client, _clock = provider_with(pool, aws_env)
    credentials = await user(provider, pool)
    old = await provider.login(*credentials)
    await provider.logout(old.access_token)
    new = await provider.login(*credentials)
    sub = (await provider.verifier.verify(new.access_token))["sub"]
    iat = (await provider.verifier.verify(new.access_token))["iat"]
    provider._revoked_until[sub] = iat  # as if the new login came in the sign-out's second
    calls = client.get_user_calls
    identity = await provider.authenticate(new.access_token)  # Cognito says it is live
    assert identity.subject == sub
    assert client.get_user_calls == calls + 1


# ------------------------------------------------------------------ outages


def dead_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens here any more


def unreachable_client() -> Any:
    return boto3.client(
        "cognito-idp",
        region_name="us-east-1",
        endpoint_url=dead_endpoint(),
        config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )


async def test_cognito_outage_fails_closed_by_default(
    cognito: CognitoAuthProvider, pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    pair = await cognito.login(*(await user(cognito, pool)))
    down = CognitoAuthProvider(
        pool.settings(), jwks=cognito.jwks, client_factory=unreachable_client
    )
    # Cognito cannot say whether the token was revoked: refused as an upstream failure (503),
    # not as a bad token (401), and not accepted on its signature alone.
    with caplog.at_level("WARNING", logger="salon.auth.cognito"), pytest.raises(ProviderError):
        await down.authenticate(pair.access_token)
    assert "fail closed" in caplog.text
    open_ = CognitoAuthProvider(
        pool.settings(fail_open=True), jwks=cognito.jwks, client_factory=unreachable_client
    )
    # With fail_open a token that validates locally is accepted while Cognito cannot be asked
    with caplog.at_level("WARNING", logger="salon.auth.cognito"):
        identity = await open_.authenticate(pair.access_token)
    assert identity.subject
    assert "accepting a locally valid token" in caplog.text
    # ... while account flows report an upstream failure, not a user error.
    with pytest.raises(ProviderError):
        await down.login(unique_email(), STRONG_PASSWORD)
    with pytest.raises(ProviderError):
        await down.signup(unique_email(), STRONG_PASSWORD)
    with pytest.raises(InvalidToken):
        await down.authenticate("forged.token.here")


# ------------------------------------------------------------------ account security


async def test_change_password_and_log_out_everywhere(pool: Pool, aws_env: MotoServer) -> None:
    provider, _client, _clock = provider_with(pool, aws_env, revocation_check_interval=0)
    assert isinstance(provider, AccountSecurity)
    email, password = await user(provider, pool)
    mine, other = await provider.login(email, password), await provider.login(email, password)
    with pytest.raises(AuthError) as wrong:
        await provider.change_password(mine.access_token, "Not-The-Password-1", "New-Pass-99")
    assert wrong.value.code == "wrong_password"
    with pytest.raises(AuthError) as weak:
        await provider.change_password(mine.access_token, password, "x")
    assert weak.value.code == "weak_password"
    await provider.authenticate(other.access_token)  # nothing changed so far

    await provider.change_password(mine.access_token, password, "New-Pass-99")
    for pair in (mine, other):  # Cognito ends every session, this one included
        with pytest.raises(InvalidToken):
            await provider.authenticate(pair.access_token)
    with pytest.raises(AuthError):
        await provider.login(email, password)
    fresh = await provider.login(email, "New-Pass-99")
    again = await provider.login(email, "New-Pass-99")
    await provider.logout_everywhere(fresh.access_token)
    for pair in (fresh, again):
        with pytest.raises(InvalidToken):
            await provider.authenticate(pair.access_token)
