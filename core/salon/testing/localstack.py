"""Find or start host-mode LocalStack for tests.

:func:`ensure_localstack` reuses a LocalStack that already answers (``SALON_TEST_LOCALSTACK_URL``,
default ``http://127.0.0.1:4566``); otherwise it runs ``deploy/localstack/run.sh start`` from the
Salon checkout, which installs LocalStack into its own virtual environment on first use. When
neither works it returns ``None`` with the reason, so a fixture can ``pytest.skip(reason)``::

    @pytest.fixture(scope="session")
    def localstack_url():
        handle, reason = ensure_localstack()
        if handle is None:
            pytest.skip(reason)
        yield handle.endpoint_url
        handle.stop()           # only stops a LocalStack this call started

The :func:`localstack_endpoint` fixture below does exactly that; a conftest (or Salon's pytest
plugin) can import it. ``SALON_TEST_LOCALSTACK=0`` skips LocalStack tests on purpose;
``SALON_TEST_LOCALSTACK_KEEP=1`` leaves a LocalStack started by the tests running afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

__all__ = [
    "LocalStack",
    "ensure_localstack",
    "find_run_script",
    "is_healthy",
    "localstack_endpoint",
]

DEFAULT_URL: Final = "http://127.0.0.1:4566"
# First start installs LocalStack (about a minute) and then boots it (about 5-15 s).
START_TIMEOUT: Final = 600.0


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


def find_run_script() -> Path | None:
    """``deploy/localstack/run.sh`` of the Salon checkout this package runs from, if any."""
    import salon

    for parent in Path(salon.__file__).resolve().parents:
        candidate = parent / "deploy" / "localstack" / "run.sh"
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class LocalStack:
    """A LocalStack that answers at ``endpoint_url``; ``started_here`` if this process began it."""

    endpoint_url: str
    started_here: bool
    run_script: Path | None = None

    def stop(self) -> None:
        """Stop it if this process started it (and ``SALON_TEST_LOCALSTACK_KEEP`` is unset)."""
        if not self.started_here or self.run_script is None:
            return
        if os.environ.get("SALON_TEST_LOCALSTACK_KEEP", "") not in ("", "0"):
            return
        subprocess.run(
            ["bash", str(self.run_script), "stop"], check=False, capture_output=True, timeout=60
        )


@contextlib.contextmanager
def _start_lock(run_script: Path) -> Iterator[None]:
    # Two test processes starting LocalStack at once would fight over the port.
    state = run_script.parent / ".state"
    state.mkdir(parents=True, exist_ok=True)
    with (state / "start.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_localstack(*, start: bool = True) -> tuple[LocalStack | None, str]:
    """Return ``(LocalStack, "")`` when one answers (reused or started), else ``(None, reason)``."""
    if os.environ.get("SALON_TEST_LOCALSTACK", "1") == "0":
        return None, "LocalStack tests disabled by SALON_TEST_LOCALSTACK=0"
    url = os.environ.get("SALON_TEST_LOCALSTACK_URL", DEFAULT_URL).rstrip("/")
    if is_healthy(url):
        return LocalStack(url, started_here=False), ""
    script = find_run_script()
    if not start or script is None:
        return None, (
            f"no LocalStack answers at {url} and deploy/localstack/run.sh was not found; "
            "start one with `make localstack` or docker compose"
        )
    if url != DEFAULT_URL:
        return None, f"no LocalStack answers at SALON_TEST_LOCALSTACK_URL={url}"
    with _start_lock(script):
        if is_healthy(url):
            return LocalStack(url, started_here=False), ""
        try:
            result = subprocess.run(
                ["bash", str(script), "start"],
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return None, f"LocalStack did not start within {START_TIMEOUT:.0f}s ({script} start)"
        if result.returncode != 0 or not is_healthy(url):
            tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-5:])
            return None, f"LocalStack could not be installed or started: {tail}"
    return LocalStack(url, started_here=True, run_script=script), ""


@pytest.fixture(scope="session")
def localstack_endpoint() -> Iterator[str]:
    """The URL of a healthy LocalStack for this test session; skips with the reason if none."""
    handle, reason = ensure_localstack()
    if handle is None:
        pytest.skip(reason)
    try:
        yield handle.endpoint_url
    finally:
        handle.stop()
