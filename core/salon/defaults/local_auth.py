"""Built-in auth provider ``local``: accounts in the core database.

- Passwords are hashed with argon2id (argon2-cffi); hashing runs in a worker thread because it
  is deliberately slow CPU work, under its own small limit (:class:`HashPool`: 429 when
  full). Unknown e-mail and wrong password give the same ``invalid_credentials`` error after
  the same amount of work (a dummy hash is verified).
- Access tokens are JWTs signed with HS256 and the core ``secret_key``; they carry the account
  id (``sub``), ``email``, the login session (``sid``), ``typ="access"`` and ``iss="salon"``.
- Refresh tokens are opaque random strings; only their sha256 is stored. Each refresh rotates
  the token: the old one is marked used, and presenting a used token again revokes the whole
  session (a stolen token was used by someone, so neither party keeps the session).
- Logout revokes the session; access tokens of a revoked session are refused at once, because
  ``authenticate`` checks that the session is still live with one query on an indexed column
  (``refresh_tokens.session_id``). A cache would save that query but would let a logged-out
  token through for the cache's lifetime; at one primary-key-sized lookup per request the query
  is the better trade.

Accounts are usable as soon as they sign up, unless ``SALON_SIGNUP_CONFIRM`` is on: then a new
account waits for the 12-digit code mailed to its address (``confirm``), and a sign-up for an
address that already has an account mails its owner a note instead, so sign-up and a sign-in
with the sign-up's password answer alike whether or not the address had an account. A pending
account's login fails like a wrong password (after the same work); signing up again replaces
its password and code (only the mailbox can confirm), and a reset link or the administrator's
``set_password`` confirms it. Without the setting ``confirm`` raises ``AuthError("unsupported")``.
An address that looks like another account's (:mod:`salon.domain.auth.lookalikes`) is refused
like a taken one (``user_exists``; with confirmation on, the address is mailed a note saying
why), and a pending sign-up whose address came to look like an account's is not confirmed.

Password reset: ``forgot_password`` mails a link through the selected mail sender (by default
``console``, which logs it) carrying a random single-use token; only its sha256 is stored, it
expires after ``SALON_PASSWORD_RESET_TTL`` seconds, and at most one is sent per account a
minute. The link puts the token in the URL fragment, which browsers never send to a server, so
it stays out of access logs and ``Referer`` headers. A reset, a password change and the
administrator's ``set_password`` all end the account's sessions (a change keeps the one it was
made from) and void the other reset links.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import time
import uuid
from typing import Any, Final
from urllib.parse import urlencode

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon import hookimpl
from salon.caching import VersionedCache
from salon.db.models import LocalAccount, PasswordReset, RefreshToken
from salon.db.reads import read_session
from salon.defaults.hashing import HashPool
from salon.domain.auth.addresses import new_address
from salon.domain.auth.lookalikes import LOOKALIKE, lookalike_exists, looks_taken
from salon.domain.auth.passwords import IS_EMAIL, TOO_COMMON, is_common, is_email
from salon.errors import AuthError, ConfigurationError, InvalidToken
from salon.providers import (
    Identity,
    MailMessage,
    MailSender,
    ProviderContext,
    RegisterAuthProvider,
    SignupResult,
    TableVersions,
    TokenPair,
)

__all__ = ["LocalAuthProvider", "normalize_email"]

log = logging.getLogger("salon.auth.local")

# Whether an access token's session is live: built once (a Core statement on the table, so
# no ORM execution and no statement or cache key built per request, issue 19.2).
_TOKENS = RefreshToken.__table__.c
_LIVE_SESSION = (
    select(_TOKENS.id)
    .where(
        _TOKENS.session_id == bindparam("sid"),
        _TOKENS.account_id == bindparam("aid"),
        _TOKENS.revoked_at.is_(None),
    )
    .limit(1)
)

ISSUER: Final = "salon"
ALGORITHM: Final = "HS256"
MIN_PASSWORD_LENGTH: Final = 8
# Argon2 cost is nearly independent of length, but unbounded input is still pointless.
MAX_PASSWORD_LENGTH: Final = 1024
MAX_EMAIL_LENGTH: Final = 320
_EMAIL_RE: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_INVALID_CREDENTIALS: Final = "Incorrect email or password"
_UNSUPPORTED: Final = "Local accounts are ready at sign-up and have no confirmation codes"
_BAD_CONFIRM: Final = "This confirmation code is wrong or expired; sign up again for a new one"
_TAKEN: Final = "An account with this email already exists"
_LOOKALIKE_NOTE: Final = (
    "Someone tried to sign up to Salon with %s. It looks too much like the address of an "
    "existing account (letters of another alphabet that look the same), so it cannot be used "
    "there: sign up with another address. If it was not you, ignore this message."
)
_NO_MAIL: Final = "Password reset by e-mail is not available; ask the administrator"
_BAD_RESET: Final = "This reset link is invalid, expired or already used; ask for a new one"
_WRONG_PASSWORD: Final = "The current password is wrong"  # noqa: S105 - a message
# One reset mail per account per this many seconds: a form cannot be used to flood a mailbox.
RESET_MAIL_INTERVAL: Final = 60
RESET_PAGE: Final = "/reset-password"


def normalize_email(email: str) -> str:
    """Strip and lower-case ``email``; raise ``AuthError("invalid_email")`` if it is not one."""
    value = email.strip().lower()
    if len(value) > MAX_EMAIL_LENGTH or not _EMAIL_RE.match(value):
        raise AuthError("invalid_email", "Enter a valid email address")
    return value


def _check_password_policy(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(
            "weak_password", f"Password must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AuthError(
            "weak_password", f"Password must be at most {MAX_PASSWORD_LENGTH} characters"
        )
    if is_common(password):
        raise AuthError("weak_password", TOO_COMMON)
    if is_email(password, email):
        raise AuthError("weak_password", IS_EMAIL)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LocalAuthProvider:
    """The ``local`` :class:`~salon.providers.AuthProvider` (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        secret_key: str,
        access_token_ttl: int = 900,
        refresh_token_ttl: int = 30 * 24 * 3600,
        hasher: PasswordHasher | None = None,
        changes: TableVersions | None = None,
        hash_pool: HashPool | None = None,
        mail: MailSender | None = None,
        public_url: str = "http://127.0.0.1:8000",
        password_reset_ttl: int = 3600,
        signup_confirm: bool = False,
    ) -> None:
        if not secret_key:
            raise ConfigurationError("local auth needs SALON_SECRET_KEY")
        if signup_confirm and mail is None:
            raise ConfigurationError("SALON_SIGNUP_CONFIRM needs a mail sender (SALON_MAIL)")
        self._signup_confirm = signup_confirm
        self._sessions = sessions
        # Access tokens already verified, while no refresh token row has changed since (a
        # logout or revocation anywhere updates that table): a hit costs no JWT decode and no
        # query. Expiry is still checked on every use.
        self._verified: VersionedCache[str, tuple[Identity, float]] = VersionedCache(
            changes, ("refresh_tokens",), max_entries=20_000
        )
        self._key = secret_key
        self._access_ttl = access_token_ttl
        self._refresh_ttl = refresh_token_ttl
        self._hasher = hasher or PasswordHasher()
        self._hashing = hash_pool or HashPool()
        self._dummy_hash: str | None = None
        self._mail = mail
        self._public_url = public_url.rstrip("/")
        self._reset_ttl = password_reset_ttl

    @classmethod
    def from_context(cls, ctx: ProviderContext) -> LocalAuthProvider:
        """The factory the plugin registers: core database, core secret key and TTLs."""
        if ctx.database is None:
            raise ConfigurationError("local auth needs the core database")
        return cls(
            ctx.database,
            secret_key=ctx.core.secret_key,
            access_token_ttl=ctx.core.access_token_ttl,
            refresh_token_ttl=ctx.core.refresh_token_ttl,
            changes=ctx.changes,
            hash_pool=HashPool(
                ctx.core.password_hash_concurrency,
                ctx.core.password_hash_queue,
                ctx.core.password_hash_per_client,
                ctx.core.password_hash_reserved,
            ),
            mail=ctx.mail,
            public_url=ctx.http_base_url,
            password_reset_ttl=ctx.core.password_reset_ttl,
            signup_confirm=ctx.core.signup_confirm,
        )

    @property
    def confirms_signups(self) -> bool:
        """Whether sign-ups wait for a mailed code (the sign-up route answers alike for taken
        addresses through this)."""
        return self._signup_confirm

    # ------------------------------------------------------------------ account flows

    async def signup(self, email: str, password: str, *, confirmed: bool = False) -> SignupResult:
        """Create an account: usable at once, or (``SALON_SIGNUP_CONFIRM``) once its mailed
        code is confirmed. ``confirmed``: the administrator's ``salon user create``."""
        address = normalize_email(new_address(email))  # also `salon user create`'s way in
        _check_password_policy(password, address)
        # Hashed first: an address that has an account takes as long as a new one.
        password_hash = await self._hashing.run(self._hasher.hash, password)
        if await lookalike_exists(self._sessions, address):  # the route answers it as taken
            if self._signup_confirm and not confirmed:
                await self._send(address, "Sign-up with your address", _LOOKALIKE_NOTE % address)
            raise AuthError("user_exists", LOOKALIKE)
        if self._signup_confirm and not confirmed:
            return await self._pending_signup(address, password_hash)
        async with self._sessions() as session:
            taken = await session.scalar(
                select(LocalAccount.id).where(LocalAccount.email == address)
            )
            if taken is not None:
                raise AuthError("user_exists", _TAKEN)
        try:
            async with self._sessions() as session, session.begin():
                account = LocalAccount(email=address, password_hash=password_hash)
                session.add(account)
                await session.flush()
                account_id = account.id
        except IntegrityError as exc:
            # Two sign-ups raced past the check above; the unique index decided.
            raise AuthError("user_exists", _TAKEN) from exc
        return SignupResult(identity=Identity(subject=str(account_id), email=address))

    async def _pending_signup(self, address: str, password_hash: str) -> SignupResult:
        code = f"{secrets.randbelow(10**12):012d}"
        values = {
            "password_hash": password_hash,
            "confirmation_hash": _token_hash(code),
            "confirmation_expires_at": _now() + dt.timedelta(seconds=self._reset_ttl),
        }
        account_id: uuid.UUID | None = None
        try:
            async with self._sessions() as session, session.begin():
                row = (
                    await session.execute(
                        select(LocalAccount.id, LocalAccount.confirmation_hash).where(
                            LocalAccount.email == address
                        )
                    )
                ).first()
                if row is None:
                    account = LocalAccount(email=address, **values)
                    session.add(account)
                    await session.flush()
                    account_id = account.id
                elif row[1] is not None:  # still pending: this sign-up's password and code
                    await session.execute(
                        update(LocalAccount).where(LocalAccount.id == row[0]).values(**values)
                    )
                    account_id = row[0]
        except IntegrityError:
            account_id = None  # a concurrent sign-up made it first
        minutes = max(self._reset_ttl // 60, 1)
        if account_id is None:
            await self._send(
                address,
                "Sign-up with your address",
                f"Someone tried to sign up to Salon with {address}, which already has an "
                'account. If it was you, sign in, or use "Forgot your password?" on the '
                "sign-in page. Otherwise you can ignore this message: nothing changed.",
            )
            raise AuthError("user_exists", _TAKEN)
        await self._send(
            address,
            "Confirm your Salon account",
            f"Your confirmation code is {code}\n\nEnter it on the sign-up page within "
            f"{minutes} minutes. If you did not sign up, ignore this message.",
        )
        return SignupResult(
            identity=Identity(subject=str(account_id), email=address), confirmation_required=True
        )

    async def _send(self, address: str, subject: str, text: str) -> None:
        assert self._mail is not None
        try:
            await self._mail.send(MailMessage(to=address, subject=subject, text=text))
        except Exception as exc:
            # The client's answer is the same either way; the operator sees why here.
            log.error("%r not sent: mail sender raised %s", subject, type(exc).__name__)

    async def confirm(self, email: str, code: str) -> None:
        """Confirm a pending account with its mailed code (``SALON_SIGNUP_CONFIRM``)."""
        if not self._signup_confirm:
            raise AuthError("unsupported", _UNSUPPORTED)
        try:
            address = normalize_email(email)
        except AuthError:
            raise AuthError("invalid_code", _BAD_CONFIRM) from None
        code = code.strip()
        if not code or len(code) > 64:
            raise AuthError("invalid_code", _BAD_CONFIRM)
        async with self._sessions() as session, session.begin():
            done = await session.execute(
                update(LocalAccount)
                .where(
                    LocalAccount.email == address,
                    LocalAccount.confirmation_hash == _token_hash(code),
                    LocalAccount.confirmation_expires_at > _now(),
                )
                .values(confirmation_hash=None, confirmation_expires_at=None)
            )
            if _rowcount(done) != 1:
                raise AuthError("invalid_code", _BAD_CONFIRM)
            # Pending sign-ups do not hold addresses, so one that looks like an account made
            # while it waited stays pending (rolled back) rather than joining it.
            if await looks_taken(session, address):
                raise AuthError("lookalike_email", LOOKALIKE)

    async def forgot_password(self, email: str, link_base: str | None = None) -> None:
        """Mail a single-use reset link when the account exists; answer the same either way.
        ``link_base`` is where the gallery is reached (the core passes the request's public
        base URL); without it, ``SALON_PUBLIC_URL``."""
        if self._mail is None:
            raise AuthError("unsupported", _NO_MAIL)
        try:
            address = normalize_email(email)
        except AuthError:
            return
        token = secrets.token_urlsafe(32)
        now = _now()
        async with self._sessions() as session, session.begin():
            account_id = await session.scalar(
                select(LocalAccount.id).where(LocalAccount.email == address)
            )
            if account_id is None or await self._reset_sent_lately(session, account_id, now):
                return
            session.add(
                PasswordReset(
                    account_id=account_id,
                    token_hash=_token_hash(token),
                    expires_at=now + dt.timedelta(seconds=self._reset_ttl),
                )
            )
        await self._send_reset_link(link_base or self._public_url, address, token)

    async def confirm_forgot_password(self, email: str, code: str, password: str) -> None:
        """Set a new password with a reset link's code; the code then stops working, and every
        session of the account ends."""
        _check_password_policy(password, email)
        try:
            address = normalize_email(email)
        except AuthError:
            raise AuthError("invalid_code", _BAD_RESET) from None
        if not code or len(code) > 256:
            raise AuthError("invalid_code", _BAD_RESET)
        digest = _token_hash(code)
        async with self._sessions() as session:
            account_id = await session.scalar(
                select(PasswordReset.account_id)
                .join(LocalAccount, LocalAccount.id == PasswordReset.account_id)
                .where(*self._usable_reset(digest, _now()), LocalAccount.email == address)
            )
        if account_id is None:
            raise AuthError("invalid_code", _BAD_RESET)
        # Hashing only after the code checked out: a guessed code costs no argon2 work.
        password_hash = await self._hashing.run(self._hasher.hash, password)
        now = _now()
        async with self._sessions() as session, session.begin():
            claimed = await session.execute(
                update(PasswordReset)
                .where(*self._usable_reset(digest, now), PasswordReset.account_id == account_id)
                .values(used_at=now)
            )
            if _rowcount(claimed) != 1:  # used by a concurrent request in between
                raise AuthError("invalid_code", _BAD_RESET)
            await self._replace_password(session, account_id, password_hash, now, keep=None)
        log.info("password of account %s reset with a mailed link", account_id)

    async def change_password(
        self, access_token: str, current_password: str, new_password: str
    ) -> None:
        """Replace the password after checking the current one; every other session ends."""
        await self.authenticate(access_token)  # a live, unexpired session
        claims = self._decode(access_token, verify_exp=True)
        account_id = _uuid_claim(claims, "sub")
        session_id = _uuid_claim(claims, "sid")
        _check_password_policy(new_password, str(claims.get("email") or ""))
        async with self._sessions() as session:
            current_hash = await session.scalar(
                select(LocalAccount.password_hash).where(LocalAccount.id == account_id)
            )
        if current_hash is None or not await self._verify(current_hash, current_password):
            raise AuthError("wrong_password", _WRONG_PASSWORD)
        password_hash = await self._hashing.run(self._hasher.hash, new_password)
        async with self._sessions() as session, session.begin():
            await self._replace_password(session, account_id, password_hash, _now(), session_id)
        log.info("password of account %s changed; other sessions ended", account_id)

    async def logout_everywhere(self, access_token: str) -> None:
        """End every session of the token's account, this one included."""
        await self.authenticate(access_token)
        account_id = _uuid_claim(self._decode(access_token, verify_exp=True), "sub")
        async with self._sessions() as session, session.begin():
            await self._revoke_account(session, account_id, _now(), keep=None)
        log.info("every session of account %s ended", account_id)

    async def set_password(self, email: str, password: str) -> None:
        """Administrator action (CLI): replace a password and end every session of the account."""
        address = normalize_email(email)
        _check_password_policy(password, address)
        password_hash = await self._hashing.run(self._hasher.hash, password)
        async with self._sessions() as session, session.begin():
            account_id = await session.scalar(
                select(LocalAccount.id).where(LocalAccount.email == address)
            )
            if account_id is None:
                raise AuthError("invalid_credentials", "No account with this email")
            await self._replace_password(session, account_id, password_hash, _now(), keep=None)

    async def login(self, email: str, password: str) -> TokenPair:
        """Check the password and open a new session with a fresh token pair."""
        if len(password) > MAX_PASSWORD_LENGTH:  # no account has one; not worth hashing
            raise AuthError("invalid_credentials", _INVALID_CREDENTIALS)
        try:
            address = normalize_email(email)
        except AuthError:
            address = ""
        found: tuple[uuid.UUID, str, bool] | None = None
        if address:
            async with self._sessions() as session:
                row = (
                    await session.execute(
                        select(
                            LocalAccount.id,
                            LocalAccount.password_hash,
                            LocalAccount.confirmation_hash,
                        ).where(LocalAccount.email == address)
                    )
                ).first()
            found = (row[0], row[1], row[2] is not None) if row is not None else None
        if found is None:
            # Same work as a real check, so response time does not tell which e-mails exist.
            await self._verify(await self._dummy(), password)
            raise AuthError("invalid_credentials", _INVALID_CREDENTIALS)
        account_id, password_hash, pending = found
        # A pending account answers like a wrong password, after the same work: "confirm
        # first" would tell a sign-up's author that the address had no account before.
        if not await self._verify(password_hash, password) or pending:
            raise AuthError("invalid_credentials", _INVALID_CREDENTIALS)
        if self._hasher.check_needs_rehash(password_hash):
            await self._rehash(account_id, password)
        return await self._open_session(account_id, address)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate ``refresh_token``: mark it used and return a new pair in the same session.

        A token that was already used revokes its whole session and is refused: either the
        client or a thief used it before, and the server cannot tell which.
        """
        if not refresh_token or len(refresh_token) > 256:
            raise InvalidToken("malformed refresh token")
        digest = _token_hash(refresh_token)
        now = _now()
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(
                    select(
                        RefreshToken.id,
                        RefreshToken.account_id,
                        RefreshToken.session_id,
                        RefreshToken.expires_at,
                        RefreshToken.used_at,
                        RefreshToken.revoked_at,
                        LocalAccount.email,
                    )
                    .join(LocalAccount, LocalAccount.id == RefreshToken.account_id)
                    .where(RefreshToken.token_hash == digest)
                )
            ).first()
            if row is None:
                log.info("refresh refused: unknown token")
                raise InvalidToken("unknown refresh token")
            token_id, account_id, session_id, expires_at, used_at, revoked_at, email = row
            if revoked_at is not None:
                log.info("refresh refused: session %s is revoked", session_id)
                raise InvalidToken("revoked refresh token")
            if expires_at <= now:
                log.info("refresh refused: token of session %s expired", session_id)
                raise InvalidToken("expired refresh token")
            # Conditional update: of two concurrent uses of one token exactly one wins.
            claimed = await session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
                .values(used_at=now)
            )
            reused = used_at is not None or _rowcount(claimed) != 1
            if reused:
                await self._revoke_session(session, session_id, now)
            else:
                new_refresh = self._add_refresh_token(session, account_id, session_id)
        if reused:
            # Raised after the commit so the revocation sticks.
            log.warning("refresh token reuse: session %s revoked", session_id)
            raise InvalidToken("refresh token reuse")
        return TokenPair(
            access_token=self._access_token(account_id, email, session_id),
            refresh_token=new_refresh,
            expires_in=self._access_ttl,
        )

    async def logout(self, access_token: str) -> None:
        """Revoke the token's session. An expired (but genuine) token may still log out."""
        claims = self._decode(access_token, verify_exp=False)
        session_id = _uuid_claim(claims, "sid")
        async with self._sessions() as session, session.begin():
            await self._revoke_session(session, session_id, _now())

    def cached_identity(self, access_token: str) -> Identity | None:
        """The identity of a token :meth:`authenticate` accepted, while no session changed
        since and the token has not expired; None when it must be checked again."""
        cached = self._verified.get(access_token, self._verified.version())
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        return None

    async def authenticate(self, access_token: str) -> Identity:
        """Verify signature, expiry, issuer and type, then that the session is not revoked."""
        version = self._verified.version()
        cached = self._verified.get(access_token, version)
        if cached is not None and time.time() < cached[1]:
            return cached[0]
        claims = self._decode(access_token, verify_exp=True)
        account_id = _uuid_claim(claims, "sub")
        session_id = _uuid_claim(claims, "sid")
        async with read_session(self._sessions) as session:
            live = await session.scalar(_LIVE_SESSION, {"sid": session_id, "aid": account_id})
        if live is None:
            log.info("access token refused: session %s revoked or gone", session_id)
            raise InvalidToken("session revoked")
        email = claims.get("email")
        identity = Identity(
            subject=str(account_id), email=email if isinstance(email, str) else None
        )
        self._verified.put(access_token, (identity, float(claims["exp"])), version)
        return identity

    # ------------------------------------------------------------------ internals

    @staticmethod
    def _usable_reset(digest: str, now: dt.datetime) -> tuple[Any, ...]:
        return (
            PasswordReset.token_hash == digest,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )

    @staticmethod
    async def _reset_sent_lately(
        session: AsyncSession, account_id: uuid.UUID, now: dt.datetime
    ) -> bool:
        since = now - dt.timedelta(seconds=RESET_MAIL_INTERVAL)
        recent = await session.scalar(
            select(PasswordReset.id)
            .where(PasswordReset.account_id == account_id, PasswordReset.created_at > since)
            .limit(1)
        )
        if recent is not None:
            log.info("reset link for account %s not sent: one was sent lately", account_id)
        return recent is not None

    async def _send_reset_link(self, base: str, address: str, token: str) -> None:
        assert self._mail is not None
        link = f"{base.rstrip('/')}{RESET_PAGE}#{urlencode({'email': address, 'code': token})}"
        minutes = max(self._reset_ttl // 60, 1)
        text = (
            f"Someone asked to reset the password of your Salon account {address}.\n\n"
            f"To choose a new password, open this link within {minutes} minutes:\n\n{link}\n\n"
            "It works once. If you did not ask for it, ignore this message."
        )
        try:
            await self._mail.send(MailMessage(to=address, subject="Reset your password", text=text))
        except Exception as exc:
            # The client's answer is the same either way; the operator sees why here.
            log.error("reset link not sent: mail sender raised %s", type(exc).__name__)

    async def _replace_password(
        self,
        session: AsyncSession,
        account_id: uuid.UUID,
        password_hash: str,
        now: dt.datetime,
        keep: uuid.UUID | None,
    ) -> None:
        """New hash, other reset links void, sessions ended (but ``keep``). A pending sign-up
        is confirmed too: a reset link proves the mailbox, and the administrator vouches;
        unless its address came to look like an account's (as ``confirm``)."""
        values: dict[str, Any] = {"password_hash": password_hash}
        pending = await session.scalar(
            select(LocalAccount.email).where(
                LocalAccount.id == account_id, LocalAccount.confirmation_hash.is_not(None)
            )
        )
        if pending is None or not await looks_taken(session, pending):
            values.update(confirmation_hash=None, confirmation_expires_at=None)
        await session.execute(
            update(LocalAccount).where(LocalAccount.id == account_id).values(**values)
        )
        await session.execute(
            update(PasswordReset)
            .where(PasswordReset.account_id == account_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        await self._revoke_account(session, account_id, now, keep)

    @staticmethod
    async def _revoke_account(
        session: AsyncSession, account_id: uuid.UUID, now: dt.datetime, keep: uuid.UUID | None
    ) -> None:
        statement = update(RefreshToken).where(
            RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None)
        )
        if keep is not None:
            statement = statement.where(RefreshToken.session_id != keep)
        await session.execute(statement.values(revoked_at=now))

    async def _verify(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await self._hashing.run(check)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self._hashing.run(self._hasher.hash, secrets.token_urlsafe(16))
        return self._dummy_hash

    async def _rehash(self, account_id: uuid.UUID, password: str) -> None:
        new_hash = await self._hashing.run(self._hasher.hash, password)
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(LocalAccount)
                .where(LocalAccount.id == account_id)
                .values(password_hash=new_hash)
            )

    async def _open_session(self, account_id: uuid.UUID, email: str) -> TokenPair:
        session_id = uuid.uuid4()
        async with self._sessions() as session, session.begin():
            refresh_token = self._add_refresh_token(session, account_id, session_id)
        return TokenPair(
            access_token=self._access_token(account_id, email, session_id),
            refresh_token=refresh_token,
            expires_in=self._access_ttl,
        )

    def _add_refresh_token(
        self, session: AsyncSession, account_id: uuid.UUID, session_id: uuid.UUID
    ) -> str:
        token = secrets.token_urlsafe(32)
        session.add(
            RefreshToken(
                account_id=account_id,
                session_id=session_id,
                token_hash=_token_hash(token),
                expires_at=_now() + dt.timedelta(seconds=self._refresh_ttl),
            )
        )
        return token

    @staticmethod
    async def _revoke_session(
        session: AsyncSession, session_id: uuid.UUID, now: dt.datetime
    ) -> None:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.session_id == session_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def _access_token(self, account_id: uuid.UUID, email: str, session_id: uuid.UUID) -> str:
        issued = int(_now().timestamp())
        claims = {
            "sub": str(account_id),
            "email": email,
            "sid": str(session_id),
            "iat": issued,
            "exp": issued + self._access_ttl,
            "typ": "access",
            "iss": ISSUER,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def _decode(self, token: str, *, verify_exp: bool) -> dict[str, Any]:
        """Verify an access token; every failure is logged with its reason and raised as one
        InvalidToken that says nothing about the token."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],  # exactly one: "none" and RS/ES confusion are refused
                issuer=ISSUER,
                options={
                    "require": ["exp", "iat", "sub", "sid", "typ", "iss"],
                    "verify_exp": verify_exp,
                },
            )
        except jwt.ExpiredSignatureError:
            log.info("access token refused: expired")
            raise InvalidToken("expired") from None
        except jwt.PyJWTError as exc:
            log.info("access token refused: %s", type(exc).__name__)
            raise InvalidToken("invalid") from None
        if claims.get("typ") != "access":
            log.info("access token refused: wrong typ")
            raise InvalidToken("wrong token type")
        return claims


def _uuid_claim(claims: dict[str, Any], name: str) -> uuid.UUID:
    value = claims.get(name)
    try:
        return uuid.UUID(str(value))
    except ValueError:
        log.info("access token refused: malformed %s claim", name)
        raise InvalidToken(f"malformed {name}") from None


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0))


@hookimpl
def register_auth_providers(register: RegisterAuthProvider) -> None:
    """Offer the ``local`` auth provider (the default, ``SALON_AUTH=local``)."""
    register("local", LocalAuthProvider.from_context)
