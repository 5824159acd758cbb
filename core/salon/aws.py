"""The AWS boundary: what the S3, SQS and Cognito plugins share, public for any plugin on AWS.

- :func:`client_config`: botocore's own retry modes (``standard``: backoff with jitter on
  throttling and transient errors; ``adaptive`` adds client-side rate limiting) and timeouts.
  Plugins write no retry loops of their own.
- :class:`LazyClient`: one boto3 client per process, made on first use (start-up makes no
  network call) and made again in a forked child.
- :data:`ERRORS`: the one table from AWS error codes to what they mean (:class:`Fault`), and
  :class:`AwsBoundary`, which turns botocore's exceptions into :mod:`salon.errors` types with
  that table. Messages name the operation and the AWS code, never the signed request.
- :func:`call`: run a blocking SDK call in a worker thread, so the event loop never waits on
  the network.

Needs boto3, which each AWS plugin depends on (the core does not).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, Final, Generic, Literal, ParamSpec, Protocol, TypeVar

import anyio.to_thread
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from salon.errors import (
    AuthError,
    ConfigurationError,
    InvalidToken,
    ObjectNotFound,
    SalonError,
)

__all__ = [
    "ACCOUNT_MESSAGES",
    "ERRORS",
    "AwsBoundary",
    "Fault",
    "Flow",
    "LazyClient",
    "call",
    "client_config",
    "error_code",
    "fault_of",
]

P = ParamSpec("P")
T = TypeVar("T")
Flow = Literal["resource", "account", "token"]


def client_config(
    *,
    max_attempts: int = 3,
    retry_mode: str = "standard",
    connect_timeout: float = 5,
    read_timeout: float = 30,
    max_pool_connections: int = 10,
    **options: Any,
) -> Config:
    """A botocore ``Config`` with botocore's retries (``retry_mode`` ``standard`` or ``adaptive``;
    ``legacy`` is botocore's old default); ``max_attempts`` counts the first try.
    ``options`` are passed on (``region_name``, ``signature_version``, ``s3``, ...)."""
    # Any: the stubs type the mode as a Literal; settings validate it at start-up.
    retries: Any = {"mode": retry_mode, "total_max_attempts": max_attempts}
    return Config(
        retries=retries,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=max_pool_connections,
        **options,
    )


# ---------------------------------------------------------------------- one client per process


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)

# Every LazyClient alive, so a forked child can drop their clients and locks at once.
_LIVE: weakref.WeakSet[LazyClient[Any]] = weakref.WeakSet()


class LazyClient(Generic[C]):
    """The process's one client from ``factory``, made on first use, thread-safe.

    boto3 clients are thread-safe, but their connection pool must not cross a fork (parent and
    child would read one socket), and a lock another thread held at the fork stays held in the
    child. ``os.register_at_fork`` gives every LazyClient a fresh lock and no client in the
    child; the pid check also covers a fork Python does not see (a C library's ``fork()``).
    """

    def __init__(self, factory: Callable[[], C]) -> None:
        self._factory = factory
        self._client: C | None = None
        self._pid = 0
        self._lock = threading.Lock()
        _LIVE.add(self)

    def get(self) -> C:
        client, pid = self._client, os.getpid()
        if client is not None and self._pid == pid:
            return client
        with self._lock:
            if self._client is None or self._pid != pid:
                self._client = self._factory()
                self._pid = pid
            return self._client

    @property
    def made(self) -> bool:
        """Whether this process has made its client yet."""
        return self._client is not None and self._pid == os.getpid()

    def close(self) -> None:
        """Close this process's client (the next :meth:`get` makes a new one)."""
        client, self._client = self._client, None
        if client is not None and self._pid == os.getpid():
            client.close()

    def _forget(self) -> None:
        # In a forked child: the parent's client and lock are not ours to use (or close).
        self._client = None
        self._pid = 0
        self._lock = threading.Lock()


def _after_fork_in_child() -> None:
    for lazy in list(_LIVE):
        lazy._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)


async def call(function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``function(*args, **kwargs)`` in a worker thread: boto3 blocks on the network."""
    return await anyio.to_thread.run_sync(partial(function, *args, **kwargs))


# ---------------------------------------------------------------------- one error table


class Fault(StrEnum):
    """What an AWS error code means for Salon. The Cognito account values are the
    :class:`~salon.errors.AuthError` codes they become."""

    NOT_FOUND = "not_found"  # the object the call names is not there
    MISSING = "missing"  # the bucket, queue or user pool itself is not there
    REFUSED = "refused"  # credentials, IAM or KMS said no
    STALE_RECEIPT = "stale_receipt"  # an SQS receipt that is no longer current
    INVALID_CREDENTIALS = "invalid_credentials"
    USER_EXISTS = "user_exists"
    WEAK_PASSWORD = "weak_password"  # noqa: S105 - an error code
    NOT_CONFIRMED = "not_confirmed"
    INVALID_CODE = "invalid_code"
    PASSWORD_RESET_REQUIRED = "password_reset_required"  # noqa: S105 - an error code
    RATE_LIMITED = "rate_limited"
    CODE_DELIVERY_FAILED = "code_delivery_failed"


ERRORS: Final[Mapping[str, Fault]] = {
    # S3
    "NoSuchKey": Fault.NOT_FOUND,
    "404": Fault.NOT_FOUND,  # a HEAD has no body, so no code but the status
    "NotFound": Fault.NOT_FOUND,
    "NoSuchBucket": Fault.MISSING,
    # SQS
    "AWS.SimpleQueueService.NonExistentQueue": Fault.MISSING,
    "QueueDoesNotExist": Fault.MISSING,
    "ReceiptHandleIsInvalid": Fault.STALE_RECEIPT,
    "InvalidParameterValue": Fault.STALE_RECEIPT,  # SQS's answer to an expired receipt
    "AWS.SimpleQueueService.MessageNotInflight": Fault.STALE_RECEIPT,
    "MessageNotInflight": Fault.STALE_RECEIPT,
    # Cognito: the pool; then account flows
    "ResourceNotFoundException": Fault.MISSING,
    "NotAuthorizedException": Fault.INVALID_CREDENTIALS,
    "UserNotFoundException": Fault.INVALID_CREDENTIALS,
    "UsernameExistsException": Fault.USER_EXISTS,
    "AliasExistsException": Fault.USER_EXISTS,
    "InvalidPasswordException": Fault.WEAK_PASSWORD,
    "UserNotConfirmedException": Fault.NOT_CONFIRMED,
    "CodeMismatchException": Fault.INVALID_CODE,
    "ExpiredCodeException": Fault.INVALID_CODE,
    "PasswordResetRequiredException": Fault.PASSWORD_RESET_REQUIRED,
    "LimitExceededException": Fault.RATE_LIMITED,
    "TooManyRequestsException": Fault.RATE_LIMITED,
    "TooManyFailedAttemptsException": Fault.RATE_LIMITED,
    "CodeDeliveryFailureException": Fault.CODE_DELIVERY_FAILED,
    # Any service: who is asking may not
    "AccessDenied": Fault.REFUSED,
    "AccessDeniedException": Fault.REFUSED,
    "403": Fault.REFUSED,
    "Forbidden": Fault.REFUSED,
    "AllAccessDisabled": Fault.REFUSED,
    "InvalidAccessKeyId": Fault.REFUSED,
    "InvalidClientTokenId": Fault.REFUSED,
    "UnrecognizedClientException": Fault.REFUSED,
    "SignatureDoesNotMatch": Fault.REFUSED,
    "ExpiredToken": Fault.REFUSED,
    "InvalidToken": Fault.REFUSED,
    "KMS.AccessDeniedException": Fault.REFUSED,
    "KMS.NotFoundException": Fault.REFUSED,
}

# Account flows (sign-up, login, codes): the message users see; None: Cognito's own message
# (a password policy's wording), which is written for users.
ACCOUNT_MESSAGES: Final[Mapping[Fault, str | None]] = {
    Fault.INVALID_CREDENTIALS: "Incorrect email or password",
    Fault.USER_EXISTS: "An account with this email already exists",
    Fault.WEAK_PASSWORD: None,
    Fault.NOT_CONFIRMED: "Confirm your email address first",
    Fault.INVALID_CODE: "The code is wrong or has expired",
    Fault.PASSWORD_RESET_REQUIRED: "A password reset is required for this account",
    Fault.RATE_LIMITED: "Too many attempts; try again later",
    Fault.CODE_DELIVERY_FAILED: "The code could not be sent",
}
# Token flows (refresh, sign-out, GetUser): these mean the token is not accepted.
_TOKEN_FAULTS: Final = frozenset({Fault.INVALID_CREDENTIALS, Fault.NOT_CONFIRMED})
_CONFIGURATION_FAULTS: Final = frozenset({Fault.MISSING, Fault.REFUSED})


def error_code(exc: ClientError) -> str:
    """The AWS error code of ``exc`` (``"404"`` for a HEAD without a body)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def fault_of(exc: BaseException) -> Fault | None:
    """What ``exc`` means by :data:`ERRORS`, or None (not a ClientError, or a code not listed)."""
    return ERRORS.get(error_code(exc)) if isinstance(exc, ClientError) else None


@dataclass(frozen=True, slots=True)
class AwsBoundary:
    """How one plugin's AWS failures become Salon's errors.

    ``service`` and ``resource`` ("bucket 'photos'") name what failed in messages; ``hint`` is
    the setting that names the resource. Failures are ``unavailable`` (``StorageError``,
    ``QueueUnavailable``, ``ProviderError``) except: a missing object is ``ObjectNotFound``; a
    missing resource, refused access, missing credentials or region are ``ConfigurationError``
    unless ``configuration_faults`` is False (a queue's contract says ``QueueUnavailable``).
    """

    service: str
    unavailable: Callable[[str], SalonError]
    resource: str = ""
    hint: str = ""
    configuration_faults: bool = True

    def error(
        self,
        exc: Exception,
        *,
        operation: str = "",
        subject: str | None = None,
        flow: Flow = "resource",
    ) -> Exception:
        """Salon's error for ``exc``; raise it ``from exc``. ``subject`` is the object key the
        call was about; ``flow`` picks the Cognito meaning of account and token errors."""
        if isinstance(exc, SalonError) or not isinstance(exc, ClientError | BotoCoreError):
            return exc
        operation = operation or str(getattr(exc, "operation_name", "") or "request")
        if isinstance(exc, BotoCoreError):
            return self._sdk_error(exc, operation)
        code = error_code(exc)
        fault = ERRORS.get(code)
        if flow == "token" and fault in _TOKEN_FAULTS:
            return InvalidToken("invalid token")
        if flow == "account" and fault in ACCOUNT_MESSAGES:
            assert fault is not None
            text = ACCOUNT_MESSAGES[fault] or exc.response.get("Error", {}).get("Message")
            return AuthError(fault.value, str(text or code))
        if fault is Fault.NOT_FOUND and subject is not None:
            return ObjectNotFound(subject)
        if fault is Fault.NOT_FOUND:
            fault = Fault.MISSING  # no key asked for: the resource itself is missing
        if fault in _CONFIGURATION_FAULTS and self.configuration_faults:
            return ConfigurationError(self._configuration_message(fault, operation, code))
        target = subject or self.resource
        where = f" for {target}" if target else ""
        return self.unavailable(f"{self.service} {operation} failed{where}: {code or 'error'}")

    @contextmanager
    def errors(
        self, operation: str = "", *, subject: str | None = None, flow: Flow = "resource"
    ) -> Iterator[None]:
        """Re-raise botocore's exceptions raised inside as :meth:`error` says."""
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc, operation=operation, subject=subject, flow=flow) from exc

    def _configuration_message(self, fault: Fault, operation: str, code: str) -> str:
        hint = f" ({self.hint})" if self.hint else ""
        if fault is Fault.MISSING:
            return f"{self.service} {self.resource} does not exist or is not visible{hint} ({code})"
        return (
            f"{self.service} {operation} on {self.resource} was refused ({code}): check the "
            "credentials, the IAM policy and the KMS key the service runs with"
        )

    def _sdk_error(self, exc: BotoCoreError, operation: str) -> Exception:
        if self.configuration_faults:
            if isinstance(exc, NoCredentialsError | PartialCredentialsError):
                return ConfigurationError(
                    "no usable AWS credentials found (environment, profile, or task/instance role)"
                )
            if isinstance(exc, NoRegionError):
                return ConfigurationError("no AWS region configured (set AWS_REGION)")
        if isinstance(exc, EndpointConnectionError):
            return self.unavailable(
                f"cannot reach the {self.service} endpoint for {self.resource or operation}"
            )
        return self.unavailable(f"{self.service} {operation} failed: {type(exc).__name__}")
