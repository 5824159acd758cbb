"""The ``cognito`` AuthProvider: account flows through Cognito, tokens validated locally.

Account flows (sign-up, confirm, login with USER_PASSWORD_AUTH, refresh with
REFRESH_TOKEN_AUTH, global sign-out, forgot/confirm-forgot password) are Cognito API calls
through :mod:`salon.aws`: one boto3 client per process made on first use (standard credential
and endpoint chain, so ``AWS_ENDPOINT_URL`` points it at moto server; botocore's standard retry
mode and timeouts), run in a worker thread because boto3 blocks, errors mapped by its table.

Revocation. A Cognito access token stays cryptographically valid until it expires (an hour by
default) even after a global sign-out; only Cognito itself knows it is revoked. Asking Cognito
(``GetUser``) on every request would put a network round trip and Cognito's per-account request
quota on every page view, so ``authenticate`` does two cheaper things:

- a sign-out made through this process is recorded locally as "tokens of ``sub`` issued up to
  second T are revoked"; such tokens are refused at once, without a call. A token issued in
  that very second is ambiguous (the user may have logged in again) and is checked with Cognito.
- every other token is checked with ``GetUser`` the first time it is seen, and the answer is
  trusted for ``revocation_check_interval`` seconds (default 5; 0 asks on every request). So a
  sign-out made elsewhere (another server process, the AWS console, another app) takes effect
  within that interval. ``GetUser`` also gives the user's e-mail, which access tokens do not
  carry. The interval is per token: a page that loads fifty thumbnails costs one call.

If Cognito cannot be reached for that check, the request fails closed by default: 503, since
a token Cognito may have revoked is not accepted on its signature alone. ``fail_open`` accepts
a locally valid token instead (a warning is logged), trading revocation for availability
during an outage. A "not authorized" answer is always final.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from salon.aws import (
    ACCOUNT_MESSAGES,
    AwsBoundary,
    Fault,
    Flow,
    LazyClient,
    call,
    client_config,
    error_code,
)
from salon.errors import AuthError, ConfigurationError, InvalidToken, ProviderError
from salon.providers import Identity, ProviderContext, SignupResult, TokenPair

from salon_cognito_auth.jwks import JwksCache
from salon_cognito_auth.settings import CognitoSettings
from salon_cognito_auth.tokens import TokenVerifier

__all__ = ["CognitoAuthProvider"]

log = logging.getLogger("salon.auth.cognito")

T = TypeVar("T")

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
# Cognito's API refuses passwords under 6 characters before any policy check; say so ourselves.
_MIN_PASSWORD = 6
_MAX_PASSWORD = 256
_CHECK_CACHE_SIZE = 10_000
# With an app client secret, refresh needs the user name; we carry it in front of the token.
_SEPARATOR = "~"

INVALID_CREDENTIALS = str(ACCOUNT_MESSAGES[Fault.INVALID_CREDENTIALS])
BOTO_CONFIG = client_config(max_attempts=4, connect_timeout=3, read_timeout=10)
# Every failure Cognito has no user-facing answer for is a ProviderError (503): the revocation
# check fails closed or open on exactly that, so no ConfigurationError here.
BOUNDARY = AwsBoundary("Cognito", ProviderError, configuration_faults=False)


def _normalize_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 320 or not _EMAIL_RE.match(value):
        raise AuthError("invalid_email", "Enter a valid email address")
    return value


class CognitoAuthProvider:
    """AuthProvider on one Cognito user pool and app client (see the module docstring)."""

    # New accounts confirm their address with a code: the core answers a sign-up for an
    # address that already has an account the same way, so sign-up reveals nothing.
    confirms_signups = True

    def __init__(
        self,
        settings: CognitoSettings,
        *,
        jwks: JwksCache | None = None,
        client_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        missing = settings.missing()
        if missing:
            raise ConfigurationError("Cognito auth needs " + ", ".join(missing))
        self.settings = settings
        self.jwks = jwks or JwksCache(
            settings.effective_jwks_url, refresh_interval=settings.jwks_refresh_interval
        )
        self.verifier = TokenVerifier(
            self.jwks,
            issuer=settings.issuer,
            client_id=settings.client_id,
            leeway=settings.leeway,
        )
        self._client: LazyClient[Any] = LazyClient(client_factory or self._default_client)
        self._clock = clock
        # sub -> last second in which tokens were revoked by a sign-out through this process
        self._revoked_until: dict[str, int] = {}
        # sha256(token) -> (time checked with Cognito, e-mail); LRU-bounded
        self._checked: OrderedDict[str, tuple[float, str | None]] = OrderedDict()

    @classmethod
    def from_context(cls, ctx: ProviderContext) -> CognitoAuthProvider:
        """The registered factory: validates settings and fetches the JWKS once."""
        settings = ctx.settings
        if not isinstance(settings, CognitoSettings):
            raise ConfigurationError("Cognito settings are missing")
        provider = cls(settings)
        provider.jwks.load()  # failure is logged; keys are fetched again on demand
        return provider

    # ------------------------------------------------------------------ boto3

    def _default_client(self) -> Any:
        return boto3.session.Session().client(
            "cognito-idp", region_name=self.settings.effective_region, config=BOTO_CONFIG
        )

    @property
    def client(self) -> Any:
        """The process's one cognito-idp client, made on first use (again after a fork)."""
        return self._client.get()

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        # The client is made in the thread too: making one reads files and environment.
        result: dict[str, Any] = await call(lambda: getattr(self.client, operation)(**params))
        return result

    def _secret_hash(self, username: str) -> dict[str, str]:
        if not self.settings.client_secret:
            return {}
        digest = hmac.new(
            self.settings.client_secret.encode(),
            (username + self.settings.client_id).encode(),
            hashlib.sha256,
        ).digest()
        return {"SECRET_HASH": base64.b64encode(digest).decode()}

    # ------------------------------------------------------------------ account flows

    async def signup(self, email: str, password: str) -> SignupResult:
        """Cognito SignUp; ``confirmation_required`` unless the pool auto-confirms."""
        address = _normalize_email(email)
        _check_password_length(password)
        params: dict[str, Any] = {
            "ClientId": self.settings.client_id,
            "Username": address,
            "Password": password,
            "UserAttributes": [{"Name": "email", "Value": address}],
        }
        if secret := self._secret_hash(address).get("SECRET_HASH"):
            params["SecretHash"] = secret
        try:
            answer = await self._call("sign_up", **params)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "account", "SignUp") from exc
        return SignupResult(
            identity=Identity(subject=str(answer["UserSub"]), email=address),
            confirmation_required=not answer.get("UserConfirmed", False),
        )

    async def confirm(self, email: str, code: str) -> None:
        """Cognito ConfirmSignUp with the code the user received."""
        address = _normalize_email(email)
        params: dict[str, Any] = {
            "ClientId": self.settings.client_id,
            "Username": address,
            "ConfirmationCode": _check_code(code),
        }
        if secret := self._secret_hash(address).get("SECRET_HASH"):
            params["SecretHash"] = secret
        try:
            await self._call("confirm_sign_up", **params)
        except ClientError as exc:
            if error_code(exc) in ("UserNotFoundException", "NotAuthorizedException"):
                # Do not reveal whether the account exists.
                raise AuthError("invalid_code", "The code is wrong or has expired") from exc
            raise translate(exc, "account", "ConfirmSignUp") from exc
        except BotoCoreError as exc:
            raise translate(exc, "account", "ConfirmSignUp") from exc

    async def login(self, email: str, password: str) -> TokenPair:
        """USER_PASSWORD_AUTH. Wrong password and unknown user give the same error."""
        try:
            address = _normalize_email(email)
        except AuthError:
            raise AuthError("invalid_credentials", INVALID_CREDENTIALS) from None
        if not password or len(password) > _MAX_PASSWORD:
            raise AuthError("invalid_credentials", INVALID_CREDENTIALS)
        auth = {"USERNAME": address, "PASSWORD": password, **self._secret_hash(address)}
        try:
            answer = await self._call(
                "initiate_auth",
                ClientId=self.settings.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters=auth,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "account", "InitiateAuth") from exc
        result = answer.get("AuthenticationResult")
        if not result:
            # A challenge (NEW_PASSWORD_REQUIRED, MFA, ...) that the API cannot complete.
            challenge = str(answer.get("ChallengeName", "unknown"))
            log.info("cognito login needs challenge %s", challenge)
            raise AuthError("unsupported", f"This account needs the {challenge} step first")
        refresh = str(result["RefreshToken"])
        if self.settings.client_secret:
            claims = await self.verifier.verify(result["AccessToken"], "access")
            refresh = _wrap_refresh(str(claims.get("username", address)), refresh)
        return TokenPair(
            access_token=str(result["AccessToken"]),
            refresh_token=refresh,
            expires_in=int(result.get("ExpiresIn", 3600)),
        )

    async def refresh(self, refresh_token: str) -> TokenPair:
        """REFRESH_TOKEN_AUTH. Cognito does not rotate refresh tokens: the same one comes
        back and stays valid until it expires or the user signs out globally."""
        if not isinstance(refresh_token, str) or not 0 < len(refresh_token) <= 8192:
            raise InvalidToken("malformed refresh token")
        username, cognito_token = _unwrap_refresh(refresh_token, bool(self.settings.client_secret))
        auth = {"REFRESH_TOKEN": cognito_token, **self._secret_hash(username)}
        try:
            answer = await self._call(
                "initiate_auth",
                ClientId=self.settings.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters=auth,
            )
        except ClientError as exc:
            if error_code(exc) in ("ResourceNotFoundException", "InvalidParameterException"):
                log.info("cognito refresh refused: %s", error_code(exc))
                raise InvalidToken("invalid refresh token") from exc
            raise translate(exc, "token", "InitiateAuth") from exc
        except BotoCoreError as exc:
            raise translate(exc, "token", "InitiateAuth") from exc
        result = answer.get("AuthenticationResult") or {}
        if "AccessToken" not in result:
            raise InvalidToken("refresh gave no token")
        return TokenPair(
            access_token=str(result["AccessToken"]),
            refresh_token=refresh_token,
            expires_in=int(result.get("ExpiresIn", 3600)),
        )

    async def logout(self, access_token: str) -> None:
        """GlobalSignOut: every token of the user is revoked (all devices)."""
        claims = await self.verifier.verify(access_token, "access")
        try:
            await self._call("global_sign_out", AccessToken=access_token)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "token", "GlobalSignOut") from exc
        sub = str(claims["sub"])
        self._revoked_until[sub] = max(self._revoked_until.get(sub, 0), int(self._clock()))
        self._checked.clear()  # cheap and rare; no stale "checked" entry of this user survives

    async def change_password(
        self, access_token: str, current_password: str, new_password: str
    ) -> None:
        """Cognito ChangePassword, then a global sign-out: Cognito cannot end only the other
        sessions, so this one ends too and the user signs in again with the new password."""
        _check_password_length(new_password)
        await self.authenticate(access_token)  # a live token: a revoked one is refused first
        try:
            await self._call(
                "change_password",
                PreviousPassword=current_password,
                ProposedPassword=new_password,
                AccessToken=access_token,
            )
        except ClientError as exc:
            if error_code(exc) == "NotAuthorizedException":
                raise AuthError("wrong_password", "The current password is wrong") from exc
            raise translate(exc, "account", "ChangePassword") from exc
        except BotoCoreError as exc:
            raise translate(exc, "account", "ChangePassword") from exc
        await self.logout(access_token)

    async def logout_everywhere(self, access_token: str) -> None:
        """Every session of the user ends: Cognito's global sign-out, which ``logout`` is."""
        await self.logout(access_token)

    async def authenticate(self, access_token: str) -> Identity:
        """Validate locally, then make sure the token is not revoked (see module docstring)."""
        claims = await self.verifier.verify(access_token, "access")
        sub = str(claims["sub"])
        issued = int(claims["iat"])
        revoked_until = self._revoked_until.get(sub)
        ambiguous = False
        if revoked_until is not None:
            if issued < revoked_until:
                log.info("cognito token refused: user signed out after it was issued")
                raise InvalidToken("revoked")
            ambiguous = issued == revoked_until
        email = await self._check_with_cognito(access_token, force=ambiguous)
        return Identity(subject=sub, email=email)

    async def forgot_password(self, email: str) -> None:
        """Cognito ForgotPassword. Unknown e-mails succeed silently (no account probing)."""
        address = _normalize_email(email)
        params: dict[str, Any] = {"ClientId": self.settings.client_id, "Username": address}
        if secret := self._secret_hash(address).get("SECRET_HASH"):
            params["SecretHash"] = secret
        try:
            await self._call("forgot_password", **params)
        except ClientError as exc:
            if error_code(exc) in ("UserNotFoundException", "NotAuthorizedException"):
                return
            raise translate(exc, "account", "ForgotPassword") from exc
        except BotoCoreError as exc:
            raise translate(exc, "account", "ForgotPassword") from exc

    async def confirm_forgot_password(self, email: str, code: str, password: str) -> None:
        """Cognito ConfirmForgotPassword: set ``password`` with the e-mailed ``code``."""
        address = _normalize_email(email)
        _check_password_length(password)
        params: dict[str, Any] = {
            "ClientId": self.settings.client_id,
            "Username": address,
            "ConfirmationCode": _check_code(code),
            "Password": password,
        }
        if secret := self._secret_hash(address).get("SECRET_HASH"):
            params["SecretHash"] = secret
        try:
            await self._call("confirm_forgot_password", **params)
        except ClientError as exc:
            if error_code(exc) in ("UserNotFoundException", "NotAuthorizedException"):
                raise AuthError("invalid_code", "The code is wrong or has expired") from exc
            raise translate(exc, "account", "ConfirmForgotPassword") from exc
        except BotoCoreError as exc:
            raise translate(exc, "account", "ConfirmForgotPassword") from exc

    # ------------------------------------------------------------------ revocation check

    async def _check_with_cognito(self, access_token: str, *, force: bool) -> str | None:
        key = hashlib.sha256(access_token.encode()).hexdigest()
        now = self._clock()
        cached = self._checked.get(key)
        if cached is not None and not force:
            checked_at, email = cached
            if now - checked_at < self.settings.revocation_check_interval:
                self._checked.move_to_end(key)
                return email
        try:
            answer = await self._call("get_user", AccessToken=access_token)
        except (ClientError, BotoCoreError) as exc:
            error = translate(exc, "token", "GetUser")
            if isinstance(error, InvalidToken):
                self._checked.pop(key, None)
                raise error from exc
            if isinstance(error, ProviderError):
                if not self.settings.fail_open:
                    # Fail closed: a 503, not a 401, so clients keep their session and retry.
                    log.warning("cognito GetUser unavailable; refusing the request (fail closed)")
                    raise ProviderError("cannot check the access token with Cognito") from exc
                log.warning("cognito GetUser unavailable; accepting a locally valid token")
                return cached[1] if cached else None
            raise error from exc
        attributes = {a["Name"]: a["Value"] for a in answer.get("UserAttributes", [])}
        email = attributes.get("email")
        self._checked[key] = (now, email)
        self._checked.move_to_end(key)
        while len(self._checked) > _CHECK_CACHE_SIZE:
            self._checked.popitem(last=False)
        return email


def translate(exc: Exception, flow: Flow, operation: str) -> Exception:
    """Salon's error for ``exc`` raised by Cognito ``operation`` (salon.aws's table): account
    flows get AuthError, token flows InvalidToken, anything else ProviderError. Logged here:
    the operation and the AWS code, never the request."""
    error = BOUNDARY.error(exc, operation=operation, flow=flow)
    code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
    if isinstance(error, InvalidToken):
        log.info("cognito %s refused the token: %s", operation, code)
    elif isinstance(error, ProviderError):
        log.error("cognito %s failed: %s", operation, code)
    return error


def _check_password_length(password: str) -> None:
    if len(password) < _MIN_PASSWORD:
        raise AuthError("weak_password", f"Password must be at least {_MIN_PASSWORD} characters")
    if len(password) > _MAX_PASSWORD:
        raise AuthError("weak_password", f"Password must be at most {_MAX_PASSWORD} characters")


def _check_code(code: str) -> str:
    value = code.strip()
    if not value or len(value) > 2048:
        raise AuthError("invalid_code", "The code is wrong or has expired")
    return value


def _wrap_refresh(username: str, token: str) -> str:
    name = base64.urlsafe_b64encode(username.encode()).decode().rstrip("=")
    return f"{name}{_SEPARATOR}{token}"


def _unwrap_refresh(token: str, wrapped: bool) -> tuple[str, str]:
    if not wrapped:
        return "", token
    name, sep, rest = token.partition(_SEPARATOR)
    if not sep or not name or not rest:
        raise InvalidToken("malformed refresh token")
    try:
        username = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    except ValueError:
        raise InvalidToken("malformed refresh token") from None
    return username, rest
