"""salon.aws, the boundary the S3, SQS and Cognito plugins share: one lazy client per process
(made again after a fork), botocore's retry config, one error table, one threaded call."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ReadTimeoutError,
)
from salon.aws import ERRORS, AwsBoundary, Fault, LazyClient, call, client_config, fault_of
from salon.errors import (
    AuthError,
    ConfigurationError,
    InvalidToken,
    ObjectNotFound,
    QueueUnavailable,
    StorageError,
)


class FakeClient:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def counting() -> tuple[LazyClient[FakeClient], list[FakeClient]]:
    made: list[FakeClient] = []

    def factory() -> FakeClient:
        made.append(FakeClient())
        return made[-1]

    return LazyClient(factory), made


# ---------------------------------------------------------------------- the client


def test_client_is_made_once_on_first_use_by_any_thread() -> None:
    lazy, made = counting()
    assert made == [] and not lazy.made
    seen: list[FakeClient] = []
    threads = [threading.Thread(target=lambda: seen.append(lazy.get())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and lazy.made
    assert all(client is made[0] for client in seen)


def test_close_closes_and_the_next_use_makes_a_new_client() -> None:
    lazy, made = counting()
    first = lazy.get()
    lazy.close()
    assert first.closed and not lazy.made
    assert lazy.get() is not first and len(made) == 2


def test_another_pid_makes_its_own_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork Python does not see (no at-fork hook ran) is caught by the pid check."""
    lazy, made = counting()
    parent = lazy.get()
    monkeypatch.setattr(os, "getpid", lambda: -1)
    child = lazy.get()
    assert child is not parent and len(made) == 2
    lazy.close()
    assert child.closed and not parent.closed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_forked_child_makes_its_own_client_even_if_the_lock_was_held() -> None:
    lazy, made = counting()
    parent = lazy.get()
    read, write = os.pipe()
    # Another thread of the parent is inside get() at the moment of the fork: its lock is held.
    with lazy._lock:
        pid = os.fork()
    if pid == 0:  # the child: report, then leave without running the parent's pytest
        try:
            child = lazy.get()  # would hang on the inherited, held lock without the at-fork hook
            answer = b"new" if child is not parent and len(made) == 2 else b"same"
        except BaseException:
            answer = b"error"
        os.write(write, answer)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.waitpid(pid, 0)
    assert answer == b"new"
    assert lazy.get() is parent and len(made) == 1  # the parent keeps its client
    assert not parent.closed  # and the child did not close it


async def test_call_runs_in_a_worker_thread() -> None:
    def where(x: int, *, y: int) -> tuple[int, int]:
        return threading.get_ident(), x + y

    ident, total = await call(where, 1, y=2)
    assert total == 3 and ident != threading.get_ident()


def test_client_config_uses_botocores_retries() -> None:
    config = client_config(max_attempts=4, connect_timeout=3, region_name="eu-west-1")
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}
    assert config.connect_timeout == 3 and config.region_name == "eu-west-1"
    assert client_config(retry_mode="adaptive").retries == {
        "mode": "adaptive",
        "total_max_attempts": 3,
    }


# ---------------------------------------------------------------------- the error table

S3 = AwsBoundary("S3", StorageError, resource="bucket 'photos'", hint="SALON_S3_BUCKET")
SQS = AwsBoundary("SQS", QueueUnavailable, configuration_faults=False)


def client_error(code: str, operation: str = "GetObject") -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "aws says"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return ClientError(response, operation)


# What each fault becomes for a resource call about the key "k", an account flow and a token
# flow. None: the boundary's `unavailable` type.
RESOURCE = {
    Fault.NOT_FOUND: ObjectNotFound,
    Fault.MISSING: ConfigurationError,
    Fault.REFUSED: ConfigurationError,
}
ACCOUNT_FAULTS = {
    Fault.INVALID_CREDENTIALS,
    Fault.USER_EXISTS,
    Fault.WEAK_PASSWORD,
    Fault.NOT_CONFIRMED,
    Fault.INVALID_CODE,
    Fault.PASSWORD_RESET_REQUIRED,
    Fault.RATE_LIMITED,
    Fault.CODE_DELIVERY_FAILED,
}
TOKEN_FAULTS = {Fault.INVALID_CREDENTIALS, Fault.NOT_CONFIRMED}


@pytest.mark.parametrize("code", sorted(ERRORS))
def test_each_mapped_code(code: str) -> None:
    fault = ERRORS[code]
    exc = client_error(code, "SomeOperation")
    assert fault_of(exc) is fault

    resource = S3.error(exc, subject="k")
    assert type(resource) is RESOURCE.get(fault, StorageError)
    if not isinstance(resource, ObjectNotFound):
        assert "SomeOperation" in str(resource) or fault is Fault.MISSING
        assert code in str(resource)
    assert "aws says" not in str(resource)  # AWS's text stays in the log, not in errors

    # A queue's contract: every failure is QueueUnavailable, naming operation and code.
    queued = SQS.error(exc)
    assert type(queued) is QueueUnavailable
    assert "SomeOperation" in str(queued) and code in str(queued)

    account = S3.error(exc, flow="account")
    if fault in ACCOUNT_FAULTS:
        assert isinstance(account, AuthError) and account.code == fault.value
    else:
        assert not isinstance(account, AuthError)

    token = S3.error(exc, flow="token")
    assert isinstance(token, InvalidToken) == (fault in TOKEN_FAULTS)


def test_not_found_without_a_key_is_the_missing_bucket() -> None:
    error = S3.error(client_error("404", "HeadBucket"))
    assert isinstance(error, ConfigurationError)
    assert "bucket 'photos' does not exist" in str(error) and "SALON_S3_BUCKET" in str(error)


def test_refused_names_operation_resource_and_what_to_check() -> None:
    error = S3.error(client_error("AccessDenied", "PutObject"), subject="k")
    assert isinstance(error, ConfigurationError)
    assert "PutObject" in str(error) and "'photos'" in str(error) and "IAM" in str(error)


def test_weak_password_keeps_cognitos_own_words() -> None:
    error = S3.error(client_error("InvalidPasswordException"), flow="account")
    assert isinstance(error, AuthError) and str(error.args[-1]) == "aws says"


def test_unlisted_code_is_unavailable() -> None:
    error = S3.error(client_error("SlowDown", "PutObject"), subject="k")
    assert type(error) is StorageError and "SlowDown" in str(error)
    assert fault_of(client_error("SlowDown")) is None


@pytest.mark.parametrize(
    ("exc", "configured", "queued"),
    [
        (NoCredentialsError(), ConfigurationError, QueueUnavailable),
        (NoRegionError(), ConfigurationError, QueueUnavailable),
        (EndpointConnectionError(endpoint_url="http://x"), StorageError, QueueUnavailable),
        (ReadTimeoutError(endpoint_url="http://x"), StorageError, QueueUnavailable),
    ],
)
def test_sdk_errors(exc: Exception, configured: type, queued: type) -> None:
    assert type(S3.error(exc, operation="GetObject")) is configured
    error = SQS.error(exc, operation="ReceiveMessage")
    assert type(error) is queued and "ReceiveMessage" in str(error)


def test_errors_context_re_raises_from_the_original() -> None:
    original = client_error("NoSuchKey")
    with pytest.raises(ObjectNotFound) as caught, S3.errors(subject="k"):
        raise original
    assert caught.value.__cause__ is original
    other = ValueError("not AWS")
    with pytest.raises(ValueError) as passed, S3.errors():
        raise other
    assert passed.value is other


# ---------------------------------------------------------------------- the plugins use it

AWS_PLUGINS = ("aws_storage", "aws_queue", "cognito_auth")
# What a plugin writing its own boundary again would need.
OWN_BOUNDARY = ("to_thread", "threading", "getpid", "register_at_fork", "Config(", "retries=")


@pytest.mark.parametrize("plugin", AWS_PLUGINS)
def test_aws_plugins_have_no_boundary_of_their_own(plugin: str) -> None:
    root = Path(__file__).resolve().parents[2] / "plugins" / plugin
    (package,) = root.glob("salon_*/__init__.py")
    sources = {p.name: p.read_text() for p in package.parent.glob("*.py")}
    assert any("from salon.aws import" in text for text in sources.values())
    found = [
        (name, word) for name, text in sources.items() for word in OWN_BOUNDARY if word in text
    ]
    assert found == []
