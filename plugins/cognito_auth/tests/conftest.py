"""Fixtures for the Cognito plugin's tests: a moto server standing in for Cognito, a fresh user
pool and app client per test, and a provider configured for them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from salon.testing.moto import FAKE_CREDENTIALS, MotoServer, moto_server
from salon_cognito_auth import CognitoAuthProvider
from salon_cognito_auth.testing import Pool, cognito_client, make_pool


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def aws_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """boto3's standard chain aimed at moto, with throw-away credentials."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto


@pytest.fixture
def pool(aws_env: MotoServer) -> Pool:
    return make_pool(aws_env.endpoint_url)


@pytest.fixture
def cognito(pool: Pool, aws_env: MotoServer) -> CognitoAuthProvider:
    """A provider on ``pool``. It shares the tests' one boto3 client (making a client costs
    about 0.3 s); test_cognito_provider.py checks the provider's own client from the chain."""
    client = cognito_client(aws_env.endpoint_url)
    provider = CognitoAuthProvider(pool.settings(), client_factory=lambda: client)
    assert provider.jwks.load(), "moto's JWKS should be reachable"
    return provider
