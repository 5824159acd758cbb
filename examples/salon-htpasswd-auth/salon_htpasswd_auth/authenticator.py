"""The authenticator: parse ``Authorization: Basic``, check the password against the file."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from salon.errors import InvalidToken
from salon.providers import Identity

_HASHER = PasswordHasher()
# Verified for an unknown user too, so a missing name costs as long as a wrong password.
_DUMMY = _HASHER.hash("not a password of anyone")
# Successful checks are remembered by a keyed digest of (user, password), never the password:
# argon2 on every request of a script would cost ~50 ms of CPU each.
_CACHE_MAX = 1024


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


class HtpasswdAuthenticator:
    """A :class:`salon.providers.RequestAuthenticator`; users are ``(htpasswd, name)``."""

    provider = "htpasswd"

    def __init__(self, path: str | os.PathLike[str], *, realm: str = "salon") -> None:
        self.path = Path(path)
        self.challenge: str | None = f'Basic realm="{realm}", charset="UTF-8"'
        self._key = os.urandom(32)
        self._verified: dict[bytes, str] = {}  # digest -> the hash it was checked against
        self._stamp: tuple[float, int] | None = None
        self._users: dict[str, str] = {}

    def _load(self) -> dict[str, str]:
        """The file, re-read when it changes (add a user without a restart)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._users, self._stamp = {}, None
            return self._users
        stamp = (stat.st_mtime, stat.st_size)
        if stamp != self._stamp:
            users: dict[str, str] = {}
            for line in self.path.read_text(encoding="utf-8").splitlines():
                name, sep, hashed = line.strip().partition(":")
                if sep and name and not name.startswith("#"):
                    users[name] = hashed
            self._users, self._stamp = users, stamp
        return self._users

    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None:
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None  # not ours: the next link of the chain decides
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidToken("malformed Basic credentials") from None
        name, sep, password = decoded.partition(":")
        if not sep or not name:
            raise InvalidToken("malformed Basic credentials")
        users = await asyncio.to_thread(self._load)
        hashed = users.get(name)
        digest = hmac.new(self._key, f"{name}\0{password}".encode(), hashlib.sha256).digest()
        if hashed is not None and self._verified.get(digest) == hashed:
            return Identity(subject=name)
        ok = await asyncio.to_thread(_verify, hashed or _DUMMY, password)
        if not ok or hashed is None:
            # Names the user, never the password.
            raise InvalidToken(f"wrong password or unknown user {name!r}")
        if len(self._verified) >= _CACHE_MAX:
            self._verified.clear()
        self._verified[digest] = hashed
        return Identity(subject=name)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
