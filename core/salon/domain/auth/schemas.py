"""Request and response bodies of the auth routes."""

from __future__ import annotations

import msgspec


class Credentials(msgspec.Struct, forbid_unknown_fields=True):
    email: str = msgspec.field()
    password: str = msgspec.field()


class RefreshRequest(msgspec.Struct):
    refresh_token: str = ""


class ConfirmRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    code: str


class ForgotRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str


class ConfirmForgotRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    code: str
    password: str


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
