"""Host-mode LocalStack for tests: one of their own, on a free port, stopped afterwards.

:func:`ensure_localstack` never uses a LocalStack it did not start unless it is told to:

- ``SALON_TEST_LOCALSTACK_URL`` set: that LocalStack is used as is (and never stopped); when it
  does not answer, the tests skip saying so. ``make test`` sets it to the LocalStack its
  wrapper (``tests/services.py``) started for the whole run.
- otherwise ``deploy/localstack/run.sh start`` starts one on a free port with its state in a
  temporary folder (installing LocalStack into its own virtual environment on first use). It
  is shared by the whole test process and stopped when the process exits. Whatever else
  answers on 127.0.0.1:4566 is not looked at.

When neither works it returns ``None`` with the reason, so a fixture can ``pytest.skip(reason)``::

    @pytest.fixture(scope="session")
    def localstack_url():
        handle, reason = ensure_localstack()
        if handle is None:
            pytest.skip(reason)
        yield handle.endpoint_url

The :func:`localstack_endpoint` fixture below does exactly that; a conftest (or Salon's pytest
plugin) can import it. ``SALON_TEST_LOCALSTACK=0`` skips LocalStack tests on purpose.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

__all__ = [
    "LocalStack",
    "ensure_localstack",
    "find_run_script",
    "free_port",
    "is_healthy",
    "localstack_endpoint",
    "start_localstack",
]

# First start installs LocalStack (about a minute) and then boots it (about 5-15 s).
START_TIMEOUT: Final = 600.0
INSTALL_HINT: Final = "bash deploy/localstack/run.sh install"


def is_healthy(endpoint_url: str, timeout: float = 2.0) -> bool:
    """True when ``GET <endpoint>/_localstack/health`` answers 200."""
    url = endpoint_url.rstrip("/") + "/_localstack/health"
    if not url.startswith(("http://", "https://")):
        return False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked)
            return int(response.status) == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_run_script() -> Path | None:
    """``deploy/localstack/run.sh`` of the Salon checkout this package runs from, if any."""
    import salon

    for parent in Path(salon.__file__).resolve().parents:
        candidate = parent / "deploy" / "localstack" / "run.sh"
        if candidate.is_file():
            return candidate
    return None


@dataclass(slots=True)
class LocalStack:
    """A LocalStack that answers at ``endpoint_url``; ``started_here`` if this process began it
    (then ``run_env`` holds the port and state folder that ``run.sh stop`` needs)."""

    endpoint_url: str
    started_here: bool
    run_script: Path | None = None
    run_env: Mapping[str, str] = field(default_factory=dict)
    state_dir: Path | None = None

    def stop(self) -> None:
        """Stop it if this process started it; a LocalStack found elsewhere is left alone."""
        if not self.started_here or self.run_script is None:
            return
        subprocess.run(
            ["bash", str(self.run_script), "stop"],
            env={**os.environ, **self.run_env},
            check=False,
            capture_output=True,
            timeout=60,
        )
        self.started_here = False
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)


def start_localstack(script: Path, port: int | None = None) -> tuple[LocalStack | None, str]:
    """Start a new LocalStack with ``run.sh`` on ``port`` (default: a free one), state in a
    temporary folder. The caller owns it and must ``stop()`` it."""
    port = port or free_port()
    state = Path(tempfile.mkdtemp(prefix="salon-localstack-"))
    run_env = {
        "LOCALSTACK_PORT": str(port),
        "LOCALSTACK_HOST_ADDR": "127.0.0.1",
        "LOCALSTACK_STATE_DIR": str(state),
    }
    env = {k: v for k, v in os.environ.items() if k != "LOCALSTACK_EXTERNAL_URL"}
    handle = LocalStack(f"http://127.0.0.1:{port}", True, script, run_env, state)
    try:
        result = subprocess.run(
            ["bash", str(script), "start"],
            env={**env, **run_env},
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        handle.stop()
        return None, f"LocalStack did not start within {START_TIMEOUT:.0f}s ({script} start)"
    if result.returncode != 0 or not is_healthy(handle.endpoint_url):
        handle.stop()
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
        return None, (
            f"LocalStack could not be installed or started: {tail} "
            f"(install it with `{INSTALL_HINT}`)"
        )
    return handle, ""


_shared: LocalStack | None = None
_shared_lock = threading.Lock()


def _stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


def ensure_localstack(*, start: bool = True) -> tuple[LocalStack | None, str]:
    """Return ``(LocalStack, "")`` for the named or this process's own LocalStack, else
    ``(None, reason)``. The handle's ``stop`` is a no-op for both: the named one is not ours,
    and our own is shared by the process and stopped at its exit."""
    global _shared
    if os.environ.get("SALON_TEST_LOCALSTACK", "1") == "0":
        return None, "LocalStack tests disabled by SALON_TEST_LOCALSTACK=0"
    named = os.environ.get("SALON_TEST_LOCALSTACK_URL", "").rstrip("/")
    if named:
        if is_healthy(named):
            return LocalStack(named, started_here=False), ""
        return None, f"no LocalStack answers at SALON_TEST_LOCALSTACK_URL={named}"
    with _shared_lock:
        if _shared is not None:
            if is_healthy(_shared.endpoint_url):
                return LocalStack(_shared.endpoint_url, started_here=False), ""
            _shared.stop()  # ours, but no longer answering: start afresh
        script = find_run_script()
        if not start or script is None:
            return None, (
                "no LocalStack for the tests: deploy/localstack/run.sh was not found and "
                "SALON_TEST_LOCALSTACK_URL is not set"
            )
        handle, reason = start_localstack(script)
        if handle is None:
            return None, reason
        if _shared is None:
            atexit.register(_stop_shared)
        _shared = handle
        return LocalStack(handle.endpoint_url, started_here=False), ""


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    """The URL of a healthy LocalStack for this test session; skips with the reason if none."""
    handle, reason = ensure_localstack()
    if handle is None:
        pytest.skip(reason)
    yield handle.endpoint_url
