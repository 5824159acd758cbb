"""Request and response bodies of the auth routes."""

from __future__ import annotations

from typing import Annotated

import msgspec

# Longer passwords are refused at decoding, for sign-up and log-in alike, before any hashing:
# no provider accepts more (local: 1024, Cognito: 256), and hashing cost must stay bounded.
MAX_PASSWORD_CHARS = 1024
MAX_EMAIL_CHARS = 320
Password = Annotated[str, msgspec.Meta(max_length=MAX_PASSWORD_CHARS)]
Email = Annotated[str, msgspec.Meta(max_length=MAX_EMAIL_CHARS)]


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: Email = msgspec.field()
    password: Password = msgspec.field()


class RefreshRequest(msgspec.Struct):
    refresh_token: str = ""


class ConfirmRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    code: str


class ForgotRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str


class ConfirmForgotRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    code: str
    password: Password


class TokenOut(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


class SignupOut(msgspec.Struct):
    id: str
    email: str | None
    confirmation_required: bool


class MeOut(msgspec.Struct):
    id: str
    email: str | None
    provider: str


class MessageOut(msgspec.Struct):
    detail: str


class PasswordChangedOut(msgspec.Struct):
    """``signed_out``: this session ended too (Cognito ends every session on a change), so
    the client must sign in again with the new password."""

    detail: str
    signed_out: bool


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password
