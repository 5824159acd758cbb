"""The one place where Cognito's errors become Salon's (see the error codes in
``salon.providers.AuthProvider``)."""

from __future__ import annotations

import logging
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError
from salon.errors import AuthError, InvalidToken, ProviderError

__all__ = ["INVALID_CREDENTIALS", "translate"]

log = logging.getLogger("salon.auth.cognito")

INVALID_CREDENTIALS = "Incorrect email or password"

Flow = Literal["account", "token"]

_ACCOUNT_ERRORS: dict[str, tuple[str, str | None]] = {
    # Cognito code -> (Salon code, message; None = Cognito's own message, which is user-facing)
    "NotAuthorizedException": ("invalid_credentials", INVALID_CREDENTIALS),
    "UserNotFoundException": ("invalid_credentials", INVALID_CREDENTIALS),
    "UsernameExistsException": ("user_exists", "An account with this email already exists"),
    "AliasExistsException": ("user_exists", "An account with this email already exists"),
    "InvalidPasswordException": ("weak_password", None),
    "UserNotConfirmedException": ("not_confirmed", "Confirm your email address first"),
    "CodeMismatchException": ("invalid_code", "The code is wrong or has expired"),
    "ExpiredCodeException": ("invalid_code", "The code is wrong or has expired"),
    "PasswordResetRequiredException": (
        "password_reset_required",
        "A password reset is required for this account",
    ),
    "LimitExceededException": ("rate_limited", "Too many attempts; try again later"),
    "TooManyRequestsException": ("rate_limited", "Too many attempts; try again later"),
    "TooManyFailedAttemptsException": ("rate_limited", "Too many attempts; try again later"),
    "CodeDeliveryFailureException": ("code_delivery_failed", "The code could not be sent"),
}

# Errors about a token (refresh, logout, GetUser): the token is not accepted.
_TOKEN_ERRORS = frozenset(
    {"NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException"}
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: Exception, flow: Flow, operation: str) -> Exception:
    """Salon's error for ``exc`` raised by Cognito ``operation``. Raise the result ``from exc``.

    Account flows get :class:`AuthError`; token flows get :class:`InvalidToken`; anything else
    (outage, throttling of token checks, misconfiguration) is a :class:`ProviderError`.
    """
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if flow == "token" and code in _TOKEN_ERRORS:
            log.info("cognito %s refused the token: %s", operation, code)
            return InvalidToken("invalid token")
        if flow == "account" and code in _ACCOUNT_ERRORS:
            salon_code, message = _ACCOUNT_ERRORS[code]
            text = message or str(exc.response.get("Error", {}).get("Message", "")) or code
            return AuthError(salon_code, text)
        log.error("cognito %s failed: %s", operation, code)
        return ProviderError(f"Cognito {operation} failed ({code})")
    if isinstance(exc, BotoCoreError):
        log.error("cognito %s failed: %s", operation, type(exc).__name__)
        return ProviderError(f"Cognito {operation} is unreachable ({type(exc).__name__})")
    return exc
