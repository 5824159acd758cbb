"""Run ``salon`` as a user does: a subprocess with its own environment, in its own folder, and
``salon serve`` on a free loopback port, stopped (only it, by its process group) afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

START_TIMEOUT = 60.0


def salon_bin() -> str:
    candidate = Path(sys.executable).parent / "salon"
    return str(candidate if candidate.exists() else Path(".venv/bin/salon").resolve())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def salon_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The process environment without any SALON_* of the caller's, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env.update(extra)
    return env


def run_salon(
    env: Mapping[str, str], *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [salon_bin(), *args],
        env=salon_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {text!r} from salon serve:\n{self.output()[-3000:]}")
            time.sleep(0.1)

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"salon serve exited:\n{self.output()[-3000:]}")
            try:
                httpx.get(f"{self.url}/health", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"salon serve was not up within {START_TIMEOUT:.0f} s")

    def exit_code(self) -> int:
        """For a server expected to refuse to start: its exit code."""
        return self.process.wait(timeout=START_TIMEOUT)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own group: only what we started
            self.process.wait(timeout=10)


@contextmanager
def serve(env: Mapping[str, str], cwd: Path, *, wait: bool = True) -> Iterator[Server]:
    """``salon serve`` on a free port; ``wait``: until it answers /health."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [salon_bin(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=salon_env(env),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        if wait:
            server.wait_until_up()
        yield server
    finally:
        server.stop()
