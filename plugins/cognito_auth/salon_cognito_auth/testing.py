"""Test helpers for this plugin and for apps that use it: a user pool on moto server (or any
Cognito endpoint), and moto's signing key for crafting tokens. Needs ``moto[server]`` only for
:func:`moto_signing_key`."""

from __future__ import annotations

import gzip
import importlib.resources
import json
import shlex
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import boto3
import jwt

from salon_cognito_auth.settings import CognitoSettings

__all__ = [
    "REGION",
    "Pool",
    "cognito_client",
    "exports",
    "make_pool",
    "moto_signing_key",
    "unverified_claims",
]

REGION = "us-east-1"


@dataclass(frozen=True)
class Pool:
    """A user pool and app client on moto, plus an admin client to drive it."""

    id: str
    client_id: str
    client_secret: str
    jwks_url: str
    admin: Any

    def settings(self, **overrides: Any) -> CognitoSettings:
        values: dict[str, Any] = {
            "user_pool_id": self.id,
            "client_id": self.client_id,
            "region": REGION,
            "jwks_url": self.jwks_url,
            "client_secret": self.client_secret,
        }
        values.update(overrides)
        return CognitoSettings(**values)

    def env(self) -> dict[str, str]:
        """The ``SALON_*`` variables that select this pool."""
        env = {
            "SALON_AUTH": "cognito",
            "SALON_COGNITO_USER_POOL_ID": self.id,
            "SALON_COGNITO_CLIENT_ID": self.client_id,
            "SALON_COGNITO_REGION": REGION,
            "SALON_COGNITO_JWKS_URL": self.jwks_url,
        }
        if self.client_secret:
            env["SALON_COGNITO_CLIENT_SECRET"] = self.client_secret
        return env

    def confirm(self, email: str) -> None:
        self.admin.admin_confirm_sign_up(UserPoolId=self.id, Username=email)


_CLIENTS: dict[str, Any] = {}


def cognito_client(endpoint_url: str) -> Any:
    """One cognito-idp client per endpoint, with throw-away credentials (moto accepts any)."""
    if endpoint_url not in _CLIENTS:
        _CLIENTS[endpoint_url] = boto3.client(
            "cognito-idp",
            region_name=REGION,
            endpoint_url=endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - not a secret
        )
    return _CLIENTS[endpoint_url]


def make_pool(endpoint_url: str, *, secret: bool = False, email_alias: bool = True) -> Pool:
    """Create a pool (a password policy; e-mail as the sign-in alias unless ``email_alias`` is
    false, in which case the e-mail is the user name itself) and an app client that allows
    USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH, with a client secret if ``secret``."""
    admin = cognito_client(endpoint_url)
    alias: dict[str, Any] = {"UsernameAttributes": ["email"]} if email_alias else {}
    pool_id = admin.create_user_pool(
        PoolName=f"salon-{uuid.uuid4().hex[:8]}",
        AutoVerifiedAttributes=["email"],
        **alias,
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 8,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
            }
        },
    )["UserPool"]["Id"]
    client = admin.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="salon",
        GenerateSecret=secret,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    return Pool(
        id=pool_id,
        client_id=client["ClientId"],
        client_secret=client.get("ClientSecret", ""),
        jwks_url=f"{endpoint_url}/{pool_id}/.well-known/jwks.json",
        admin=admin,
    )


def moto_signing_key() -> dict[str, Any]:
    """The private JWK moto signs every Cognito token with (a public test key, kid "dummy")."""
    folder = importlib.resources.files("moto.cognitoidp") / "resources"
    plain = folder / "jwks-private.json"
    if plain.is_file():
        return dict(json.loads(plain.read_text()))
    return dict(json.loads(gzip.decompress((folder / "jwks-private.json.gz").read_bytes())))


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of ``token`` WITHOUT any check: for tests that re-sign or forge tokens."""
    return dict(jwt.decode(token, options={"verify_signature": False}))


def exports(pool: Pool) -> str:
    """``export`` lines selecting ``pool``, quoted for the shell."""
    return "\n".join(f"export {key}={shlex.quote(value)}" for key, value in pool.env().items())


def wait_for_endpoint(endpoint_url: str, seconds: float = 60.0) -> bool:
    """True once something accepts connections at ``endpoint_url``'s host and port, False
    after ``seconds``. The README starts moto server in the background on the line before: it
    takes a few seconds to listen, and the first call must not race it."""
    parts = urlsplit(endpoint_url)
    address = (
        parts.hostname or "127.0.0.1",
        parts.port or (443 if parts.scheme == "https" else 80),
    )
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection(address, timeout=1.0):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)


def main(argv: list[str]) -> int:
    """``python -m salon_cognito_auth.testing ENDPOINT``: make a pool and app client on moto
    (deploy/localstack/README.md, "Cognito on moto") and print the exports that select them."""
    if len(argv) != 1:
        print("usage: python -m salon_cognito_auth.testing http://127.0.0.1:5001", file=sys.stderr)
        return 2
    endpoint = argv[0].rstrip("/")
    if not wait_for_endpoint(endpoint):
        print(f"nothing answers at {endpoint} after 60 s: is moto_server running?", file=sys.stderr)
        return 1
    print(exports(make_pool(endpoint)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
