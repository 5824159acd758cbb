"""``/api/auth/*`` and ``/api/me``: account flows through whichever auth provider is selected.

Login and refresh answer tokens in JSON. With ``?session=cookie`` (the web UI) they also set
HttpOnly cookies plus a readable CSRF cookie; API clients never get cookies they did not ask for.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Literal

import uuid_utils
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from salon.defaults.local_auth import LocalAuthProvider
from salon.domain.auth.addresses import new_address
from salon.domain.auth.credentials import revoke_api_keys_of_email
from salon.domain.auth.lookalikes import lookalike_exists
from salon.domain.auth.passwords import IS_EMAIL, TOO_COMMON, is_common, is_email
from salon.domain.auth.same_site import same_site_json_guard
from salon.domain.auth.schemas import (
    ConfirmForgotRequest,
    ConfirmRequest,
    Credentials,
    ForgotRequest,
    MeOut,
    MessageOut,
    RefreshRequest,
    SignupOut,
    TokenOut,
)
from salon.domain.auth.services import SIGNUP_CLOSED
from salon.domain.auth.throttle import DEVICE_COOKIE, throttle_guard
from salon.domain.deps import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    REFRESH_COOKIE,
    CurrentUser,
    RuntimeDep,
    ThrottleDep,
    UsersDep,
    bearer_token,
    check_csrf,
    csrf_token,
)
from salon.domain.openapi import AUTHENTICATED
from salon.errors import AuthError, InvalidToken
from salon.providers import SignupConfirmation, TokenPair
from salon.proxies import is_https, mail_base_url
from salon.runtime import Runtime

log = logging.getLogger("salon.auth")

# `?session=cookie`: the web UI's session in HttpOnly cookies; absent: tokens in the JSON.
SessionKind = Literal["cookie"]


async def _subject(runtime: Runtime, access_token: str) -> str | None:
    """The account ``access_token`` belongs to (what CSRF tokens are signed for); ``None``
    when it does not authenticate."""
    try:
        return (await runtime.auth.authenticate(access_token)).subject
    except InvalidToken:
        return None


async def _token_response(
    request: Request[Any, Any, Any],
    pair: TokenPair,
    runtime: Runtime,
    session: str | None,
    device_cookie: str | None = None,
) -> Response[TokenOut]:
    if session != "cookie":
        body = TokenOut(pair.access_token, pair.refresh_token, pair.expires_in, pair.token_type)
        return Response(body, status_code=HTTP_200_OK)
    subject = await _subject(runtime, pair.access_token)
    if subject is None:  # a token just issued that does not authenticate: nothing to sign
        raise AuthError("invalid_token", "the new session could not be verified; sign in again")
    # A cookie session keeps the tokens out of reach of page scripts: only the lifetime is sent.
    body = TokenOut("", "", pair.expires_in, "cookie")
    secure = is_https(request, runtime.core.public_url)

    def cookie(
        name: str, value: str, *, httponly: bool, max_age: int | None, path: str = "/"
    ) -> Cookie:
        return Cookie(
            key=name,
            value=value,
            httponly=httponly,
            max_age=max_age,
            secure=secure,
            samesite="strict",
            path=path,
        )

    cookies = [
        cookie(ACCESS_COOKIE, pair.access_token, httponly=True, max_age=pair.expires_in),
        cookie(
            REFRESH_COOKIE,
            pair.refresh_token,
            httponly=True,
            max_age=runtime.core.refresh_token_ttl,
            path="/api/auth",
        ),
        cookie(
            CSRF_COOKIE, csrf_token(runtime.core.secret_key, subject), httponly=False, max_age=None
        ),
    ]
    if device_cookie is not None:
        # Outlives sessions (logout keeps it): it is what lets this browser in while someone
        # else's failed guesses hold the account for clients without one.
        cookies.append(
            cookie(
                DEVICE_COOKIE,
                device_cookie,
                httponly=True,
                max_age=runtime.core.login_device_ttl,
                path="/api/auth",
            )
        )
    return Response(body, status_code=HTTP_200_OK, cookies=cookies)


def _signup_taken(email: str, runtime: Runtime) -> SignupOut:
    """The answer to a sign-up for an address that already has an account: shaped like a new
    sign-up (an id no account has, the provider's usual confirmation step), so sign-up does
    not tell who has an account. Only signing in, with the account's password, gets further."""
    log.info("sign-up for an address that already has an account (answered as a new one)")
    auth = runtime.auth
    confirms = isinstance(auth, SignupConfirmation) and bool(auth.confirms_signups)
    return SignupOut(str(uuid_utils.uuid7()), email.strip().lower(), confirms)


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]
    # Before the body is read: JSON only and no cross-site browsers (login CSRF), then the
    # rate limit per client address (each route's bucket is its opt["rate_bucket"]).
    guards = [same_site_json_guard, throttle_guard]

    @post("/signup", operation_id="signup", status_code=HTTP_201_CREATED)
    async def signup(
        self, data: JSONBody[Credentials], runtime: RuntimeDep, user_directory: UsersDep
    ) -> SignupOut:
        if not runtime.core.signup_enabled:
            raise AuthError("signup_closed", SIGNUP_CLOSED)
        email = new_address(data.email)  # for every sign-in provider
        if is_common(data.password):
            raise AuthError("weak_password", TOO_COMMON)
        if is_email(data.password, email):
            raise AuthError("weak_password", IS_EMAIL)
        # The local provider checks this itself, after hashing as for a taken address (so the
        # answer takes as long); any other is asked only for an address that passes.
        local = isinstance(runtime.auth, LocalAuthProvider)
        if not local and await lookalike_exists(runtime.session_maker, email):
            return _signup_taken(email, runtime)
        try:
            result = await runtime.auth.signup(email, data.password)
        except AuthError as exc:
            if exc.code != "user_exists":
                raise
            return _signup_taken(email, runtime)
        # The public user id is Salon's own (the one /api/me and every owner field show), not
        # the provider's subject: the row is made now, as a first sign-in would make it.
        user = await user_directory.user(result.identity)
        return SignupOut(str(user.id), result.identity.email, result.confirmation_required)

    @post("/confirm", operation_id="confirm_signup", status_code=HTTP_200_OK)
    async def confirm(self, data: JSONBody[ConfirmRequest], runtime: RuntimeDep) -> MessageOut:
        await runtime.auth.confirm(data.email, data.code)
        return MessageOut("account confirmed")

    @post("/login", operation_id="login", status_code=HTTP_200_OK, opt={"rate_bucket": "login"})
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[Credentials],
        runtime: RuntimeDep,
        auth_throttle: ThrottleDep,
        session: FromQuery[SessionKind | None] = None,
    ) -> Response[TokenOut]:
        cookie = request.cookies.get(DEVICE_COOKIE)
        async with auth_throttle.password_check(data.email, cookie):
            pair = await runtime.auth.login(data.email, data.password)
        # A fresh device cookie after each success (browser sessions only: API clients get
        # no cookies they did not ask for); its failure budget starts anew.
        device_cookie = auth_throttle.devices.issue(data.email) if session == "cookie" else None
        return await _token_response(request, pair, runtime, session, device_cookie)

    @post(
        "/refresh",
        operation_id="refresh_token",
        status_code=HTTP_200_OK,
        opt={"rate_bucket": "refresh"},
    )
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        runtime: RuntimeDep,
        data: JSONBody[RefreshRequest | None] = None,
        session: FromQuery[SessionKind | None] = None,
    ) -> Response[TokenOut]:
        token = data.refresh_token if data else ""
        if not token:
            token = request.cookies.get(REFRESH_COOKIE, "")
            if token:
                check_csrf(request)  # the cookie rides along with any request: double-submit
                # A cookie session stays one: its tokens never go to page scripts in the body,
                # whatever the query says (outside attacker, s29).
                session = "cookie"
        if not token:
            raise AuthError("invalid_token", "refresh_token is required")
        pair = await runtime.auth.refresh(token)
        return await _token_response(request, pair, runtime, session)

    # Needs a valid session already: nothing to guess, so no limit.
    @post(
        "/logout",
        operation_id="logout",
        status_code=HTTP_200_OK,
        opt={"rate_bucket": None},
        security=AUTHENTICATED,
    )
    async def logout(
        self, request: Request[Any, Any, Any], runtime: RuntimeDep
    ) -> Response[MessageOut]:
        token, from_cookie = bearer_token(request)
        if token is None:
            raise AuthError("invalid_token", "authentication required: send a Bearer access token")
        if from_cookie:
            check_csrf(request, await _subject(runtime, token))
        await runtime.auth.logout(token)
        response = Response(MessageOut("signed out"))
        for name in (ACCESS_COOKIE, CSRF_COOKIE):
            response.delete_cookie(name, path="/")
        response.delete_cookie(REFRESH_COOKIE, path="/api/auth")
        return response

    @post("/forgot-password", operation_id="forgot_password", status_code=HTTP_200_OK)
    async def forgot(
        self, data: JSONBody[ForgotRequest], runtime: RuntimeDep, request: Request[Any, Any, Any]
    ) -> MessageOut:
        forgot = runtime.auth.forgot_password
        if "link_base" in inspect.signature(forgot).parameters:
            # A provider that mails its own links learns where the gallery is reached: never
            # from a Host the sender chose (see mail_base_url: the link would hand them the code).
            base = mail_base_url(request, runtime.core.public_url)
            await forgot(data.email, link_base=base)  # type: ignore[call-arg]
        else:
            await forgot(data.email)
        return MessageOut("if the account exists, a code was sent")

    @post("/confirm-forgot-password", operation_id="confirm_forgot_password", status_code=200)
    async def confirm_forgot(
        self, data: JSONBody[ConfirmForgotRequest], runtime: RuntimeDep
    ) -> MessageOut:
        if is_email(data.password, data.email):  # whichever provider: its policy may not know
            raise AuthError("weak_password", IS_EMAIL)
        await runtime.auth.confirm_forgot_password(data.email, data.code, data.password)
        await revoke_api_keys_of_email(runtime, data.email)
        return MessageOut("password changed; every session was signed out and API keys revoked")


@get("/api/me", operation_id="me", tags=["auth"], security=AUTHENTICATED)
async def me(current_user: CurrentUser) -> MeOut:
    """The signed-in caller: ``id`` (the ``owner_id`` of their images and jobs), ``email``
    and the ``provider`` they signed in through."""
    return MeOut(str(current_user.id), current_user.email, current_user.provider)
