"""Helpers shared by the HTTP benchmarks (listing, serving, memory, start-up).

- :func:`spawn` starts a command (``salon serve``, a bare granian app, nginx) in its own session
  and waits for a URL to answer; on exit it sends SIGTERM to the group and records whether the
  server needed SIGKILL (granian was seen to ignore SIGTERM after file responses under load).
- :func:`wrk` runs wrk and parses requests, req/s and latency percentiles; :func:`cpu_seconds`
  reads the CPU time of a process tree from /proc, so each run also yields requests per
  *server CPU second*, a figure that the other tenants of a shared machine disturb far less
  than wall-clock req/s.
- :func:`row` / :func:`print_rows` write the JSON-lines format of ``benchmarks/ingest``
  (``name, value, reference, ratio, target, op, ok, unit``) that ``run_all.py`` aggregates.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll ``url`` until it answers 200; returns the seconds waited. Raises on timeout or when
    ``proc`` exits first."""
    t0 = time.perf_counter()
    deadline = t0 + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{url} did not answer 200 within {timeout} s")
        time.sleep(0.05)


@dataclass
class Server:
    """A running server started by :func:`spawn`."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    ready_after: float
    needed_sigkill: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def pids(self) -> list[int]:
        """The server and all its descendants (granian runs workers as child processes)."""
        return [self.proc.pid, *descendants(self.proc.pid)]


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of ``pids`` (from /proc/<pid>/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextlib.contextmanager
def spawn(
    argv: Sequence[str | Path],
    *,
    ready_url: str,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
    log_dir: Path | None = None,
) -> Iterator[Server]:
    """Run ``argv`` in its own session until ``ready_url`` answers 200, yield, then stop it
    (SIGTERM to the group, SIGKILL after 10 s; ``needed_sigkill`` records which)."""
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    log = log_dir / f"bench-server-{os.getpid()}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(a) for a in argv],
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(proc, ready_url.rsplit("/", 1)[0], log, 0.0)
    try:
        try:
            server.ready_after = wait_http(ready_url, timeout, proc)
        except Exception as exc:
            raise RuntimeError(f"{exc}\n--- server log ---\n{log.read_text()[-3000:]}") from None
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.needed_sigkill = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # granian's workers are in the same session; make sure none outlive the run
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


# --------------------------------------------------------------------------- wrk


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    server_cpu_s: float = 0.0

    @property
    def rps_per_cpu(self) -> float:
        """Requests per second of server CPU: what one fully available core would serve."""
        return self.requests / self.server_cpu_s if self.server_cpu_s else 0.0


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    return path


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 64,
    threads: int = 2,
    headers: Mapping[str, str] | None = None,
    server_pids: Sequence[int] = (),
    script: Path | None = None,
) -> WrkResult:
    """Load ``url`` with wrk (``script``: a Lua script of its own, e.g. varying the paths);
    also counts the server's CPU seconds during the run."""
    argv = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
    ]
    if script is not None:
        argv += ["-s", str(script)]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    cpu0 = cpu_seconds(server_pids)
    out = subprocess.run([*argv, url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(server_pids) - cpu0
    m = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", out)
    if not m:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    secs = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)", out, re.M))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        requests=int(m.group(1)),
        seconds=secs,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(pct["50"]),
        p99_ms=_ms(pct["99"]),
        errors=errors,
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        server_cpu_s=cpu,
    )


# --------------------------------------------------------------------------- reporting


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def environment() -> dict[str, Any]:
    """The machine and versions, recorded beside every result."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for dist in ("salon", "litestar", "granian", "sqlalchemy", "aiosqlite", "asyncpg"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "-"
    return {
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        **versions,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def busy_note() -> str | None:
    """Wall-clock figures mean little when other processes already keep the cores busy."""
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cpus:
        return f"machine busy (load {load:.1f} on {cpus} cores): wall-clock figures unreliable"
    return None


def row(
    name: str,
    value: float,
    reference: float,
    target: float,
    op: str,
    unit: str,
    *,
    on: str = "ratio",
    **extra: Any,
) -> dict[str, Any]:
    """One result: ``ratio`` is value/reference; ``op`` compares the ratio with ``target``, or
    with ``on="value"`` the value itself (absolute targets such as p99 < 50 ms)."""
    ratio = value / reference if reference else float("inf")
    checked = value if on == "value" else ratio
    ok = checked <= target if op in ("<=", "<") else checked >= target
    return {
        "name": name,
        "value": round(value, 4),
        "reference": round(reference, 4),
        "ratio": round(ratio, 3),
        "target": target,
        "op": op,
        "on": on,
        "ok": ok,
        "unit": unit,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        **extra,
    }


def print_rows(rows: Sequence[Mapping[str, Any]]) -> None:
    """JSON lines on stdout (for run_all.py), a readable table on stderr."""
    for r in rows:
        print(json.dumps(r), flush=True)
    print(
        f"\n{'figure':<36}{'value':>12}{'reference':>12}{'ratio':>8}  target          ok",
        file=sys.stderr,
    )
    for r in rows:
        target = f"{'value ' if r.get('on') == 'value' else ''}{r['op']} {r['target']}"
        print(
            f"{r['name']:<36}{r['value']:>12}{r['reference']:>12}{r['ratio']:>8}  {target:<15} "
            f"{'yes' if r['ok'] else 'NO'}  ({r['unit']})",
            file=sys.stderr,
        )


def salon_env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment of a throw-away Salon (embedded defaults unless told otherwise)."""
    env = {
        "SALON_DATA_DIR": str(data_dir),
        "SALON_SECRET_KEY": "bench-only-" + os.urandom(16).hex(),
        "SALON_AUTH_RATE_LIMIT": "100000",
        # A benchmark's clients are one address, whose parallel log-ins the per-address share
        # of the password-hashing queue (2 places) would answer 429: more than the queue holds.
        "SALON_PASSWORD_HASH_PER_CLIENT": "64",
        "SALON_LOG_LEVEL": "WARNING",
        **extra,
    }
    if database_url:
        env["SALON_DATABASE_URL"] = database_url
    return env


def salon_bin() -> Path:
    return VENV_BIN / "salon"


def login(url: str, email: str = "bench@example.com", password: str = "bench-password-123") -> str:
    """Sign up (if new) and log in through the API; returns a bearer access token."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        client.post("/api/auth/signup", json={"email": email, "password": password})
        r = client.post("/api/auth/login", json={"email": email, "password": password})
        r.raise_for_status()
        return str(r.json()["access_token"])
