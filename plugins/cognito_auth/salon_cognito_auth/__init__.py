"""Salon plugin: auth on Amazon Cognito user pools (``SALON_AUTH=cognito``).

Settings (``SALON_COGNITO_*``): ``USER_POOL_ID``, ``CLIENT_ID``, ``REGION`` (required, the region
may also come from the pool id), ``JWKS_URL`` (override for moto server and tests),
``CLIENT_SECRET`` (app clients with a secret), ``LEEWAY``, ``JWKS_REFRESH_INTERVAL``,
``REVOCATION_CHECK_INTERVAL``. AWS endpoint and credentials come from boto3's standard chain.
"""

from __future__ import annotations

from salon import hookimpl
from salon.providers import RegisterAuthProvider, RegisterSettings

from salon_cognito_auth.provider import CognitoAuthProvider
from salon_cognito_auth.settings import CognitoSettings

__all__ = ["CognitoAuthProvider", "CognitoSettings"]


@hookimpl
def register_settings(register: RegisterSettings) -> None:
    """``SALON_COGNITO_*`` settings."""
    register("COGNITO", CognitoSettings)


@hookimpl
def register_auth_providers(register: RegisterAuthProvider) -> None:
    """Offer the ``cognito`` auth provider."""
    register("cognito", CognitoAuthProvider.from_context)
