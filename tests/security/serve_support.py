"""A real ``salon serve`` (granian, one worker) on a free 127.0.0.1 port for the attack tests,
with raw-socket clients that send exactly what an attacker would (declared lengths that are
lies, bodies that drip), and the server's memory read from /proc."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
READY_TIMEOUT = 60.0
PASSWORD = "attack test password 51c2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss_kib(pid: int) -> int:
    """RSS of ``pid`` and all its descendants (granian's worker is a child process)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        with contextlib.suppress(OSError):
            for line in (Path("/proc") / str(current) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


@dataclass
class Served:
    url: str
    port: int
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def rss_mib(self) -> float:
        return tree_rss_kib(self.process.pid) / 1024

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def salon_serve(
    data_dir: Path, *, workers: int = 1, environ: dict[str, str] | None = None, **settings: str
) -> Iterator[Served]:
    """``salon db upgrade`` then ``salon serve --workers N``; ``settings`` are extra
    ``SALON_*`` values (``body_read_timeout="2"`` sets ``SALON_BODY_READ_TIMEOUT``),
    ``environ`` other variables (``TMPDIR``)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env.update(
        SALON_DATA_DIR=str(data_dir),
        SALON_PUBLIC_URL=url,
        SALON_SECRET_KEY=secrets.token_urlsafe(32),
        SALON_AUTH_RATE_LIMIT="100000",
        SALON_LOG_LEVEL="WARNING",
    )
    env.update({f"SALON_{key.upper()}": value for key, value in settings.items()})
    env.update(environ or {})
    salon = str(BIN / "salon")
    upgrade = subprocess.run(
        [salon, "db", "upgrade"], env=env, cwd=data_dir, capture_output=True, timeout=120
    )
    if upgrade.returncode != 0:
        pytest.fail(f"salon db upgrade failed:\n{upgrade.stderr.decode(errors='replace')}")
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [salon, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=data_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(url, port, data_dir, log_path, process)
    try:
        _wait_ready(served)
        yield served
    finally:
        _stop(process)


def _wait_ready(served: Served) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"salon serve exited:\n{served.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{served.url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"salon serve was not ready within {READY_TIMEOUT:.0f} s:\n{served.log_tail()}")


async def sign_up(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    """A new account; returns the Authorization header for it."""
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    created = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@dataclass
class RawResponse:
    status: int
    head: str
    body: bytes


async def read_response(reader: asyncio.StreamReader) -> RawResponse:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status = int(head.split(" ", 2)[1])
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return RawResponse(status, head, body)


async def raw_request(
    served: Served,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection and send the request line, ``headers`` (given as sent: a
    Content-Length may promise more than ``body``) and ``body``; the caller goes on."""
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{served.port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()
    return reader, writer


def multipart_head(boundary: str, filename: str = "slow.jpg") -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()
