"""Attack suite: forged and malformed Cognito tokens, with our own RSA keys and a JWKS served by a
tiny local HTTP server, plus key rotation and JWKS outages.

Every forged token must be refused by the verifier and by ``authenticate`` without a call to
Cognito; only genuine tokens (signed by a key in the JWKS, with the right claims) pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from salon.errors import InvalidToken
from salon_cognito_auth import CognitoAuthProvider, CognitoSettings
from salon_cognito_auth.jwks import JwksCache
from salon_cognito_auth.tokens import TokenVerifier

REGION = "eu-west-1"
POOL = "eu-west-1_TestPool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
CLIENT = "client-abc123"
LEEWAY = 30


# ------------------------------------------------------------------ keys and the JWKS server


class Key:
    """An RSA key pair with a kid: signs tokens, and publishes its public half as a JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_pem = (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def jwk(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict[str, Any], *, kid: str | None = None, **headers: Any) -> str:
        header = {"kid": self.kid if kid is None else kid, **headers}
        return jwt.encode(
            claims, self.private_pem, algorithm=headers.pop("alg", "RS256"), headers=header
        )


class JwksServer:
    """Serves ``keys`` as a JWKS document; ``failing`` makes it answer 500. Counts requests."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.failing = False
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests += 1
                if outer.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/{POOL}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Clock:
    """A monotonic clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    return {name: Key(name) for name in ("k1", "k2", "attacker")}


@pytest.fixture
def server(keys: dict[str, Key]) -> Iterator[JwksServer]:
    server = JwksServer()
    server.keys = [keys["k1"].jwk()]
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks(server: JwksServer, clock: Clock) -> JwksCache:
    cache = JwksCache(server.url, refresh_interval=10, clock=clock)
    assert cache.load()
    return cache


@pytest.fixture
def verifier(jwks: JwksCache) -> TokenVerifier:
    return TokenVerifier(jwks, issuer=ISSUER, client_id=CLIENT, leeway=LEEWAY)


def access_claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(uuid.uuid4()),
        "iss": ISSUER,
        "client_id": CLIENT,
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "username": "someone",
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def id_claims(**changes: Any) -> dict[str, Any]:
    claims = access_claims(token_use="id", client_id=None, aud=CLIENT, email="a@example.com")
    claims.update(changes)
    return claims


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(keys: dict[str, Key]) -> str:
    """The classic confusion attack: HMAC-sign with the public key as the shared secret."""
    header = b64(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
    payload = b64(json.dumps(access_claims()).encode())
    signing_input = f"{header}.{payload}".encode()
    secret = keys["k1"].public_pem.encode()
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def alg_none(keys: dict[str, Key]) -> str:
    header = b64(json.dumps({"alg": "none", "kid": "k1"}).encode())
    return f"{header}.{b64(json.dumps(access_claims()).encode())}."


def tampered(keys: dict[str, Key]) -> str:
    header, _payload, signature = keys["k1"].sign(access_claims()).split(".")
    forged = b64(json.dumps(access_claims(sub="admin")).encode())
    return f"{header}.{forged}.{signature}"


def jwk_header_injection(keys: dict[str, Key]) -> str:
    """The attacker embeds their own public key in the header and hopes it is used."""
    return keys["attacker"].sign(access_claims(), kid="attacker", jwk=keys["attacker"].jwk())


ATTACKS: dict[str, Callable[[dict[str, Key]], str]] = {
    "alg_none": alg_none,
    "hs256_with_public_key": hs256_with_public_key,
    "rs512": lambda k: k["k1"].sign(access_claims(), alg="RS512"),
    "wrong_issuer_other_pool": lambda k: k["k1"].sign(
        access_claims(iss=f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_Other")
    ),
    "wrong_issuer_http": lambda k: k["k1"].sign(access_claims(iss=ISSUER.replace("https", "http"))),
    "wrong_issuer_trailing_slash": lambda k: k["k1"].sign(access_claims(iss=ISSUER + "/")),
    "missing_issuer": lambda k: k["k1"].sign(access_claims(iss=None)),
    "wrong_token_use_id": lambda k: k["k1"].sign(id_claims()),
    "missing_token_use": lambda k: k["k1"].sign(access_claims(token_use=None)),
    "wrong_client": lambda k: k["k1"].sign(access_claims(client_id="another-client")),
    "missing_client": lambda k: k["k1"].sign(access_claims(client_id=None)),
    "expired": lambda k: k["k1"].sign(access_claims(exp=int(time.time()) - LEEWAY - 5)),
    "missing_exp": lambda k: k["k1"].sign(access_claims(exp=None)),
    "not_yet_valid": lambda k: k["k1"].sign(access_claims(nbf=int(time.time()) + LEEWAY + 60)),
    "missing_sub": lambda k: k["k1"].sign(access_claims(sub=None)),
    "unknown_kid": lambda k: k["k1"].sign(access_claims(), kid="not-in-jwks"),
    "missing_kid": lambda k: jwt.encode(access_claims(), k["k1"].private_pem, algorithm="RS256"),
    "tampered_payload": tampered,
    "other_key_same_kid": lambda k: k["attacker"].sign(access_claims(), kid="k1"),
    "jwk_header_injection": jwk_header_injection,
    "five_parts_jwe_like": lambda k: "a.b.c.d.e",
    "two_parts": lambda k: ".".join(k["k1"].sign(access_claims()).split(".")[:2]),
    "empty_signature": lambda k: k["k1"].sign(access_claims()).rsplit(".", 1)[0] + ".",
    "garbage_header": lambda k: "!!!." + k["k1"].sign(access_claims()).split(".", 1)[1],
}


# ------------------------------------------------------------------ the baseline


async def test_genuine_access_token_is_accepted(
    verifier: TokenVerifier, keys: dict[str, Key]
) -> None:
    claims = access_claims()
    verified = await verifier.verify(keys["k1"].sign(claims), "access")
    assert verified["sub"] == claims["sub"]


async def test_genuine_id_token_is_accepted_as_id_only(
    verifier: TokenVerifier, keys: dict[str, Key]
) -> None:
    token = keys["k1"].sign(id_claims())
    assert (await verifier.verify(token, "id"))["email"] == "a@example.com"
    with pytest.raises(InvalidToken):
        await verifier.verify(token, "access")


async def test_id_token_for_another_audience_is_refused(
    verifier: TokenVerifier, keys: dict[str, Key]
) -> None:
    with pytest.raises(InvalidToken):
        await verifier.verify(keys["k1"].sign(id_claims(aud="another-client")), "id")
    with pytest.raises(InvalidToken):
        await verifier.verify(keys["k1"].sign(access_claims()), "id")


async def test_small_clock_skew_is_tolerated(verifier: TokenVerifier, keys: dict[str, Key]) -> None:
    now = int(time.time())
    await verifier.verify(keys["k1"].sign(access_claims(exp=now - LEEWAY + 10)), "access")
    await verifier.verify(keys["k1"].sign(access_claims(nbf=now + LEEWAY - 10)), "access")


# ------------------------------------------------------------------ the attacks


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_forged_token_is_refused(
    verifier: TokenVerifier, keys: dict[str, Key], attack: str
) -> None:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(ATTACKS[attack](keys), "access")
    assert str(caught.value) == "invalid token"  # the reason is never in the error


class NoCognito:
    """A boto3 client stand-in that fails the test if anything reaches Cognito."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a forged token must not reach Cognito ({name})")


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_authenticate_refuses_forged_token_without_calling_cognito(
    jwks: JwksCache, keys: dict[str, Key], attack: str
) -> None:
    settings = CognitoSettings(
        user_pool_id=POOL, client_id=CLIENT, region=REGION, jwks_url=jwks.url
    )
    provider = CognitoAuthProvider(settings, jwks=jwks, client_factory=NoCognito)
    with pytest.raises(InvalidToken):
        await provider.authenticate(ATTACKS[attack](keys))
    with pytest.raises(InvalidToken):
        await provider.logout(ATTACKS[attack](keys))


async def test_refusal_reason_is_logged_without_the_token(
    verifier: TokenVerifier, keys: dict[str, Key], caplog: pytest.LogCaptureFixture
) -> None:
    token = keys["k1"].sign(access_claims(client_id="another-client"))
    with caplog.at_level("INFO", logger="salon.auth.cognito"), pytest.raises(InvalidToken):
        await verifier.verify(token, "access")
    assert "client_id" in caplog.text
    for part in token.split("."):
        assert part not in caplog.text


# ------------------------------------------------------------------ key rotation and outages


async def test_new_kid_is_fetched_once(
    verifier: TokenVerifier, server: JwksServer, keys: dict[str, Key], clock: Clock
) -> None:
    assert server.requests == 1  # the start-up load
    server.keys = [keys["k1"].jwk(), keys["k2"].jwk()]  # the pool rotates in k2
    clock.now += 11
    await verifier.verify(keys["k2"].sign(access_claims()), "access")
    await verifier.verify(keys["k2"].sign(access_claims()), "access")
    await verifier.verify(keys["k1"].sign(access_claims()), "access")
    assert server.requests == 2
    assert verifier.jwks.kids == {"k1", "k2"}


async def test_new_kid_right_after_start_up_is_fetched(
    verifier: TokenVerifier, server: JwksServer, keys: dict[str, Key], clock: Clock
) -> None:
    """Within the refetch interval an unknown kid is refused; after it, it is fetched."""
    server.keys = [keys["k1"].jwk(), keys["k2"].jwk()]
    token = keys["k2"].sign(access_claims())
    clock.now += 5
    with pytest.raises(InvalidToken):
        await verifier.verify(token, "access")
    assert server.requests == 1
    clock.now += 5
    await verifier.verify(token, "access")
    assert server.requests == 2


async def test_unknown_kids_refetch_at_most_once_per_interval(
    verifier: TokenVerifier, server: JwksServer, keys: dict[str, Key], clock: Clock
) -> None:
    clock.now += 11
    tokens = [keys["k1"].sign(access_claims(), kid=f"random-{i}") for i in range(30)]
    results: list[str] = []

    async def attempt(token: str) -> None:
        try:
            await verifier.verify(token, "access")
            results.append("accepted")
        except InvalidToken:
            results.append("refused")

    async with anyio.create_task_group() as tg:
        for token in tokens:
            tg.start_soon(attempt, token)
    assert results == ["refused"] * 30
    assert server.requests == 2  # start-up + one refetch for the whole burst
    for token in tokens[:5]:
        with pytest.raises(InvalidToken):
            await verifier.verify(token, "access")
    assert server.requests == 2
    clock.now += 10
    with pytest.raises(InvalidToken):
        await verifier.verify(tokens[0], "access")
    assert server.requests == 3


async def test_rotated_out_key_stops_being_trusted(
    verifier: TokenVerifier, server: JwksServer, keys: dict[str, Key], clock: Clock
) -> None:
    old = keys["k1"].sign(access_claims())
    await verifier.verify(old, "access")
    server.keys = [keys["k2"].jwk()]
    clock.now += 11
    await verifier.verify(keys["k2"].sign(access_claims()), "access")  # triggers the refetch
    with pytest.raises(InvalidToken):
        await verifier.verify(old, "access")


async def test_jwks_outage_keeps_cached_keys_working(
    verifier: TokenVerifier, server: JwksServer, keys: dict[str, Key], clock: Clock
) -> None:
    server.failing = True
    clock.now += 11
    with pytest.raises(InvalidToken):
        await verifier.verify(keys["k2"].sign(access_claims()), "access")
    assert server.requests == 2  # it tried
    await verifier.verify(keys["k1"].sign(access_claims()), "access")  # cached key still works
    assert verifier.jwks.kids == {"k1"}
    server.failing = False
    server.keys = [keys["k1"].jwk(), keys["k2"].jwk()]
    clock.now += 11
    await verifier.verify(keys["k2"].sign(access_claims()), "access")


async def test_start_up_outage_recovers(
    server: JwksServer, keys: dict[str, Key], clock: Clock
) -> None:
    server.failing = True
    cache = JwksCache(server.url, refresh_interval=10, clock=clock)
    assert cache.load() is False  # logged, not raised: the app still starts
    verifier = TokenVerifier(cache, issuer=ISSUER, client_id=CLIENT, leeway=LEEWAY)
    token = keys["k1"].sign(access_claims())
    with pytest.raises(InvalidToken):
        await verifier.verify(token, "access")
    server.failing = False
    clock.now += 10
    await verifier.verify(token, "access")


async def test_jwks_with_unusable_keys_is_filtered(
    server: JwksServer, keys: dict[str, Key], clock: Clock
) -> None:
    """Keys for other algorithms or uses are ignored, so they can never verify a token."""
    server.keys = [
        {**keys["k1"].jwk(), "use": "enc"},
        {**keys["k2"].jwk(), "alg": "RS512"},
        {"kty": "oct", "kid": "sym", "k": b64(b"secret")},
    ]
    cache = JwksCache(server.url, refresh_interval=10, clock=clock)
    assert cache.load()
    assert cache.kids == frozenset()
