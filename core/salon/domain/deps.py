"""Request dependencies shared by every domain: the runtime, and the signed-in user.

A request's user comes from the first link of the authentication chain that recognises its
credentials: each plugin's request authenticator (hook ``register_request_authenticators``:
HTTP Basic, API keys, a custom header), in hook order, then the configured auth provider.

Access tokens arrive as ``Authorization: Bearer <token>`` (API clients) or in the HttpOnly
``salon_access`` cookie (the web UI). Cookie-authenticated writes must echo the ``salon_csrf``
cookie in an ``X-CSRF-Token`` header (double-submit), so another site cannot ride the cookie.
The token is ``<nonce>.<HMAC(secret key, account, nonce)>``, signed for the account the session
belongs to: a plain double-submit token passed whatever value both carried, so whoever could
set a cookie for the host (a sibling subdomain, plain http through a MITM) could pick one (the
second outside attack). A token of the attacker's own session names another account and fails.
``/api/auth/refresh`` (the access cookie may be gone by then) checks the plain double-submit
only: it can only renew the browser's own session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from typing import Any, TypeAlias

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from salon import logs
from salon.db.models import User
from salon.db.reads import share_reads
from salon.domain.auth.services import UserDirectory
from salon.domain.auth.throttle import AuthThrottle
from salon.domain.bodies import UploadSlots
from salon.domain.images.listing import ImageLister
from salon.domain.images.processing import RenditionService
from salon.domain.images.services import ImageService
from salon.domain.sources.services import SourceImportService
from salon.domain.uploads.services import UploadService
from salon.errors import InvalidToken
from salon.runtime import Runtime, runtime_of

# Handler parameters name their dependency explicitly (Litestar 3 stops inferring them): the
# key in the app's ``dependencies`` or the SQLAlchemy plugin's session key is the parameter name.
CurrentUser: TypeAlias = NamedDependency[User]
DbSession: TypeAlias = NamedDependency[AsyncSession]
# Not validated per request: the runtime is the app's own object (and its annotations name
# types only mypy imports, salon.composition's).
RuntimeDep: TypeAlias = NamedDependency[SkipValidation[Runtime]]
# The core services (salon.composition.dependencies), each under its key as parameter name.
# Keys end in _service & co., not "images", so a plugin route's query parameter named like a
# domain is never taken for a dependency.
ImagesDep: TypeAlias = NamedDependency[ImageService]  # image_service
ImagePagesDep: TypeAlias = NamedDependency[ImageLister]  # image_pages
RenditionsDep: TypeAlias = NamedDependency[RenditionService]  # rendition_service
UploadsDep: TypeAlias = NamedDependency[UploadService]  # upload_service
SourcesDep: TypeAlias = NamedDependency[SourceImportService]  # source_service
UploadSlotsDep: TypeAlias = NamedDependency[UploadSlots]  # upload_slots
ThrottleDep: TypeAlias = NamedDependency[AuthThrottle]  # auth_throttle
UsersDep: TypeAlias = NamedDependency[UserDirectory]  # user_directory

log = logging.getLogger("salon.auth")

ACCESS_COOKIE = "salon_access"
REFRESH_COOKIE = "salon_refresh"
CSRF_COOKIE = "salon_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Route opt of a POST that changes nothing (read-only API keys may call it).
READS_ONLY = "reads_only"
_USER_STATE = "salon_current_user"


def bearer_token(request: Request[Any, Any, Any]) -> tuple[str | None, bool]:
    """The access token and whether it came from the cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), False
    cookie = request.cookies.get(ACCESS_COOKIE)
    return (cookie, True) if cookie else (None, False)


def _csrf_signature(secret_key: str, subject: str, nonce: str) -> str:
    # Its own key, derived: a CSRF token can never pass for something signed elsewhere.
    key = hashlib.sha256(b"salon csrf\0" + secret_key.encode()).digest()
    mac = hmac.new(key, f"{subject}\0{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_token(secret_key: str, subject: str) -> str:
    """A new CSRF token for a session of the account ``subject`` (see the module docstring)."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_csrf_signature(secret_key, subject, nonce)}"


def check_csrf(request: Request[Any, Any, Any], subject: str | None = None) -> None:
    """403 unless the ``X-CSRF-Token`` header repeats the CSRF cookie and, when ``subject``
    is given, the token is signed for that account."""
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected, sent):
        raise PermissionDeniedException("missing or wrong CSRF token (X-CSRF-Token header)")
    if subject is None:
        return
    nonce, _, signature = sent.partition(".")
    secret_key = runtime_of(request).core.secret_key
    if not nonce or not hmac.compare_digest(signature, _csrf_signature(secret_key, subject, nonce)):
        raise PermissionDeniedException(
            "the CSRF token is not this session's: reload the page or sign in again"
        )


async def provide_current_user(request: Request[Any, Any, Any]) -> User:
    user: User | None = request.state.get(_USER_STATE)
    if user is None:
        user = await _authenticate(request)
        request.state[_USER_STATE] = user
        # Litestar's request.user, for plugin routes that read it (after require_user).
        request.scope["user"] = user
        logs.user_id.set(str(user.id))  # the rest of this request's log lines name the user
    return user


async def authenticate_first(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """An app guard: a route that needs a user authenticates before its body is read (Litestar
    reads and decodes the body before it resolves dependencies), so an anonymous client cannot
    make the server read, buffer or parse anything."""
    if isinstance(connection, Request) and "current_user" in handler.parsed_fn_signature.parameters:
        if handler.opt.get("shared_reads"):
            share_reads(runtime_of(connection).session_maker)
        await provide_current_user(connection)


def _is_read(request: Request[Any, Any, Any]) -> bool:
    """A safe method, or a POST route that only reads (``opt={READS_ONLY: True}``: a ZIP of a
    selection takes its ids in a body), which read-only credentials may use."""
    return request.method in SAFE_METHODS or bool(request.route_handler.opt.get(READS_ONLY))


def _challenges(runtime: Runtime) -> dict[str, str]:
    """``WWW-Authenticate`` for a 401: Bearer (the auth provider) and each authenticator's."""
    schemes = ["Bearer"] + [a.challenge for _, a in runtime.authenticators if a.challenge]
    return {"WWW-Authenticate": ", ".join(schemes)}


async def _from_chain(request: Request[Any, Any, Any], runtime: Runtime) -> User | None:
    """The user the first authenticator recognises, None when none has credentials to see."""
    for name, authenticator in runtime.authenticators:
        try:
            identity = await authenticator.authenticate_request(request.headers)
        except InvalidToken as exc:
            # The message is the authenticator's, which must hold no secret (see the Protocol).
            log.info("authenticator %s refused the request's credentials: %s", name, exc)
            throttle = runtime.services.throttle
            address = request.client.host if request.client else "unknown"
            await throttle.client("login", address)  # guessing is rate-limited like sign-in
            raise NotAuthorizedException(
                "invalid credentials", headers=_challenges(runtime)
            ) from None
        if identity is not None:
            if identity.read_only and not _is_read(request):
                raise PermissionDeniedException("these credentials are read-only")
            provider = identity.provider or authenticator.provider
            directories = runtime.services.authenticator_users
            if provider not in directories:
                directories[provider] = UserDirectory(
                    provider, runtime.session_maker, runtime.changes
                )
            return await directories[provider].user(identity)
    return None


async def _authenticate(request: Request[Any, Any, Any]) -> User:
    runtime = runtime_of(request)
    if runtime.authenticators:
        user = await _from_chain(request, runtime)
        if user is not None:
            return user
    token, from_cookie = bearer_token(request)
    if token is None:
        raise NotAuthorizedException(
            "authentication required: send a Bearer access token", headers=_challenges(runtime)
        )
    try:
        identity = await runtime.auth.authenticate(token)
    except InvalidToken as exc:
        log.info("token refused: %s", exc)
        raise NotAuthorizedException(
            "invalid or expired access token", headers=_challenges(runtime)
        ) from None
    if from_cookie and request.method not in SAFE_METHODS:
        check_csrf(request, identity.subject)
    return await runtime.services.users.user(identity)


async def provide_optional_user(request: Request[Any, Any, Any]) -> User | None:
    token, _ = bearer_token(request)
    if token is None and not runtime_of(request).authenticators:
        return None
    try:
        return await provide_current_user(request)
    except NotAuthorizedException:
        return None
