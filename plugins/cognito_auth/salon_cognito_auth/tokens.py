"""Local validation of Cognito JWTs, checking what AWS's own verifier (aws-jwt-verify) checks.

1. three dot-separated parts (a JWE or anything else is refused);
2. header ``alg`` is exactly ``RS256`` (``none``, and ``HS256`` with the public key as the
   secret, are refused before any key is looked at);
3. header ``kid`` names a key in the pool's JWKS;
4. the RS256 signature verifies with that key;
5. ``exp`` (required) and ``nbf`` (if present) hold, and ``iat`` (required) is not in the
   future, each with ``leeway`` seconds of clock skew;
6. ``iss`` is exactly ``https://cognito-idp.<region>.amazonaws.com/<pool>``;
7. ``token_use`` is what the caller expects (``access`` for API calls);
8. access tokens carry our app client in ``client_id``; ID tokens carry it in ``aud``.

The JWS work is PyJWT's (with ``cryptography`` for RSA); the JWK from the JWKS becomes a
public key through :class:`jwt.PyJWK`, which also refuses a JWK that is not an RS256 key.

Each refusal is logged with its reason (never the token) and raised as one
:class:`~salon.errors.InvalidToken` that tells the client nothing.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidJTIError,
    InvalidSubjectError,
    MissingRequiredClaimError,
    PyJWTError,
)
from salon.errors import InvalidToken

from salon_cognito_auth.jwks import JwksCache

__all__ = ["TokenVerifier"]

log = logging.getLogger("salon.auth.cognito")

ALGORITHM = "RS256"
MAX_TOKEN_LENGTH = 16 * 1024
TokenUse = Literal["access", "id"]
# Claim checks that failed, as opposed to a bad signature or an unreadable token.
CLAIM_ERRORS = (
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuedAtError,
    InvalidIssuerError,
    InvalidJTIError,
    InvalidSubjectError,
    MissingRequiredClaimError,
)


def _refuse(reason: str) -> InvalidToken:
    log.info("cognito token refused: %s", reason)
    return InvalidToken("invalid token")


class TokenVerifier:
    """Verifies tokens of one user pool and app client."""

    def __init__(self, jwks: JwksCache, *, issuer: str, client_id: str, leeway: int) -> None:
        self.jwks = jwks
        self.issuer = issuer
        self.client_id = client_id
        self.leeway = leeway

    async def verify(self, token: str, expected_use: TokenUse = "access") -> dict[str, Any]:
        """The token's claims if it passes every check above; InvalidToken otherwise."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise _refuse("empty or oversized")
        if token.count(".") != 2 or not all(token.split(".")):
            raise _refuse("not a three-part JWS")
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError:
            raise _refuse("unreadable header") from None
        if header.get("alg") != ALGORITHM:
            raise _refuse(f"algorithm {str(header.get('alg'))[:20]!r} is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _refuse("no kid")
        jwk = await self.jwks.get(kid)
        if jwk is None:
            raise _refuse("kid not in the pool's JWKS")
        try:
            key = jwt.PyJWK(jwk, algorithm=ALGORITHM)
        except PyJWTError as exc:  # InvalidKeyError, PyJWKError
            # parse_jwks only checks the shape; the numbers themselves can still be unusable.
            raise _refuse(f"unusable JWK: {type(exc).__name__}") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=self.client_id if expected_use == "id" else None,
                leeway=self.leeway,
                options={
                    "verify_signature": True,
                    "verify_exp": True,
                    "verify_nbf": True,
                    "verify_iat": True,
                    "verify_iss": True,
                    # Access tokens carry no aud; their client_id is checked below.
                    "verify_aud": expected_use == "id",
                    "require": ["exp", "iat", "iss", "sub"],
                },
            )
        except ExpiredSignatureError:
            raise _refuse("expired") from None
        except CLAIM_ERRORS as exc:
            raise _refuse(f"claims: {exc}") from None
        except PyJWTError as exc:
            raise _refuse(f"signature or format: {type(exc).__name__}") from None
        if claims.get("token_use") != expected_use:
            raise _refuse(f"token_use is not {expected_use!r}")
        if expected_use == "access" and claims.get("client_id") != self.client_id:
            raise _refuse("client_id is not this app client")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise _refuse("no sub")
        return claims
