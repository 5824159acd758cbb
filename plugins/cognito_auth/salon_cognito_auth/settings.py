"""Settings of the Cognito auth plugin, read from ``SALON_COGNITO_*``."""

from __future__ import annotations

import re

import msgspec

__all__ = ["CognitoSettings"]

_POOL_ID = re.compile(r"^(?P<region>[a-z]{2}(-[a-z]+)+-\d)_[0-9A-Za-z]+$")


class CognitoSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``SALON_COGNITO_USER_POOL_ID``, ``_CLIENT_ID`` and ``_REGION`` select the pool.

    ``jwks_url`` overrides where signing keys are fetched (moto server, tests); the expected
    issuer is always ``https://cognito-idp.<region>.amazonaws.com/<user_pool_id>``.
    ``client_secret`` is only for app clients that have one (``SECRET_HASH`` is then sent).
    ``leeway`` is the clock skew allowed on ``exp``/``nbf``, in seconds. An unknown ``kid``
    refetches the JWKS at most once per ``jwks_refresh_interval`` seconds. A token that passed a
    ``GetUser`` check with Cognito is trusted for ``revocation_check_interval`` seconds before
    it is checked again (0: every request). ``fail_open`` accepts a locally valid token when
    Cognito cannot be asked; by default such requests answer 503 instead. See
    ``salon_cognito_auth.provider`` and the README for the trade-offs.
    """

    user_pool_id: str = ""
    client_id: str = ""
    region: str = ""
    jwks_url: str = ""
    client_secret: str = ""
    leeway: int = 30
    jwks_refresh_interval: int = 10
    revocation_check_interval: int = 5
    fail_open: bool = False

    def __post_init__(self) -> None:
        if self.leeway < 0 or self.leeway > 300:
            raise ValueError("leeway must be between 0 and 300 seconds")
        if self.jwks_refresh_interval < 1:
            raise ValueError("jwks_refresh_interval must be at least 1 second")
        if self.revocation_check_interval < 0:
            raise ValueError("revocation_check_interval must not be negative")

    def __repr__(self) -> str:  # the client secret never reaches a log line
        secret = "'***'" if self.client_secret else "''"
        return (
            f"CognitoSettings(user_pool_id={self.user_pool_id!r}, client_id={self.client_id!r}, "
            f"region={self.region!r}, jwks_url={self.jwks_url!r}, client_secret={secret}, "
            f"leeway={self.leeway}, jwks_refresh_interval={self.jwks_refresh_interval}, "
            f"revocation_check_interval={self.revocation_check_interval}, "
            f"fail_open={self.fail_open})"
        )

    @property
    def effective_region(self) -> str:
        """``region``, else the region the pool id starts with (``eu-west-1_AbC`` ...)."""
        if self.region:
            return self.region
        match = _POOL_ID.match(self.user_pool_id)
        return match.group("region") if match else ""

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.effective_region}.amazonaws.com/{self.user_pool_id}"

    @property
    def effective_jwks_url(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"

    def missing(self) -> list[str]:
        """Names of required settings that are empty."""
        names = []
        if not self.user_pool_id:
            names.append("SALON_COGNITO_USER_POOL_ID")
        if not self.client_id:
            names.append("SALON_COGNITO_CLIENT_ID")
        if not self.effective_region:
            names.append("SALON_COGNITO_REGION")
        return names
