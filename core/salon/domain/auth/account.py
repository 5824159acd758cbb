"""``/api/auth/change-password`` and ``/api/auth/logout-all``: a signed-in user secures their
account. Both need the provider's optional :class:`~salon.providers.AccountSecurity`
capability; without it they answer 400 ``unsupported``.

A wrong current password counts as a failed sign-in of the account (and the route is in the
client address's ``login`` bucket), so a stolen session cannot guess the password. Both routes
also revoke the account's API keys (:mod:`salon.domain.auth.credentials`)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from salon.domain.auth.credentials import revoke_api_keys
from salon.domain.auth.passwords import IS_EMAIL, is_email
from salon.domain.auth.schemas import MessageOut, PasswordChange, PasswordChangedOut
from salon.domain.auth.throttle import DEVICE_COOKIE, throttle_guard
from salon.domain.deps import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    REFRESH_COOKIE,
    CurrentUser,
    RuntimeDep,
    ThrottleDep,
    bearer_token,
)
from salon.errors import AuthError, InvalidToken
from salon.providers import AccountSecurity
from salon.runtime import Runtime

__all__ = ["AccountController", "PasswordChange"]


def _security(runtime: Runtime) -> AccountSecurity:
    if not isinstance(runtime.auth, AccountSecurity):
        raise AuthError("unsupported", "this sign-in provider cannot change passwords here")
    return runtime.auth


def _token(request: Request[Any, Any, Any]) -> str:
    token, _ = bearer_token(request)
    if token is None:  # current_user already refused this; kept for the type checker
        raise AuthError("invalid_token", "authentication required: send a Bearer access token")
    return token


def _end_cookie_session(response: Response[Any]) -> None:
    """Clear this browser's session cookies (its tokens no longer work)."""
    for name in (ACCESS_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/api/auth")


async def _still_signed_in(runtime: Runtime, token: str) -> bool:
    """Whether ``token`` still authenticates: a provider that cannot end sessions selectively
    (Cognito) ends this one too when the password changes."""
    try:
        await runtime.auth.authenticate(token)
    except InvalidToken:
        return False
    return True


class AccountController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post(
        "/change-password",
        operation_id="change_password",
        status_code=HTTP_200_OK,
        guards=[throttle_guard],
        opt={"rate_bucket": "login"},
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[PasswordChange],
        current_user: CurrentUser,
        runtime: RuntimeDep,
        auth_throttle: ThrottleDep,
    ) -> Response[PasswordChangedOut]:
        """Change the password (the current one is required); every other session ends, this
        one stays signed in where the provider can end sessions selectively (else
        ``signed_out`` is true, and this browser's session cookies are cleared), and every API
        key of the account is revoked. A wrong current password is a failed sign-in (429 past
        the account's limit)."""
        security = _security(runtime)
        if current_user.email and is_email(data.new_password, current_user.email):
            raise AuthError("weak_password", IS_EMAIL)
        account = current_user.email or f"user:{current_user.id}"
        token = _token(request)
        async with auth_throttle.password_check(account, request.cookies.get(DEVICE_COOKIE)):
            await security.change_password(token, data.current_password, data.new_password)
        await revoke_api_keys(runtime.session_maker, current_user.id)
        if await _still_signed_in(runtime, token):
            detail = "password changed; other sessions were signed out and API keys were revoked"
            return Response(PasswordChangedOut(detail, signed_out=False))
        detail = (
            "password changed; every session was signed out, this one too, and API keys were "
            "revoked: sign in with the new password"
        )
        response = Response(PasswordChangedOut(detail, signed_out=True))
        _end_cookie_session(response)
        return response

    @post("/logout-all", operation_id="logout_everywhere", status_code=HTTP_200_OK)
    async def logout_all(
        self, request: Request[Any, Any, Any], current_user: CurrentUser, runtime: RuntimeDep
    ) -> Response[MessageOut]:
        """End every session of the account, this one included, and revoke its API keys."""
        await _security(runtime).logout_everywhere(_token(request))
        await revoke_api_keys(runtime.session_maker, current_user.id)
        response = Response(MessageOut("signed out everywhere; API keys were revoked"))
        _end_cookie_session(response)
        return response
