"""tests/services.py, the wrapper `make test` runs the suite in: it starts a PostgreSQL cluster
of its own on a free port, hands it to the command, and afterwards nothing it started is left
(no server answering, no folder); a URL named by the caller is passed on untouched."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "tests" / "services.py"
PROBE = """
import asyncio, json, os, sys
import asyncpg
async def main():
    url = os.environ["SALON_TEST_POSTGRES_URL"]
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute("CREATE DATABASE probe")
    version = await conn.fetchval("SHOW server_version")
    await conn.close()
    print(json.dumps({"url": url, "version": version}))
asyncio.run(main())
"""


def run_services(*command: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SALON_TEST_")}
    environ.update(SALON_TEST_LOCALSTACK="0", **env)
    return subprocess.run(
        [sys.executable, str(SERVICES), "--", *command],
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def refuses(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) != 0


def test_make_test_gets_a_postgres_of_its_own_and_it_is_gone_afterwards() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from services import pg_bin_dir
    finally:
        sys.path.pop(0)
    if pg_bin_dir() is None:
        pytest.skip("no initdb/pg_ctl here (install: apt-get install -y postgresql)")
    result = run_services(sys.executable, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    parts = urlsplit(seen["url"])
    assert parts.hostname == "127.0.0.1" and parts.port not in (None, 5432)
    assert seen["version"]
    folder = next(
        line.rsplit("cluster in ", 1)[1].strip()
        for line in result.stderr.splitlines()
        if "cluster in " in line
    )
    assert refuses("127.0.0.1", parts.port or 0)
    assert not Path(folder).exists()


def test_a_named_postgres_is_passed_on_and_nothing_is_started() -> None:
    named = "postgresql+asyncpg://someone@127.0.0.1:1/elsewhere"
    result = run_services(
        sys.executable,
        "-c",
        "import os; print(os.environ['SALON_TEST_POSTGRES_URL'])",
        SALON_TEST_POSTGRES_URL=named,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == named
    assert "not started here" in result.stderr
    assert "cluster in" not in result.stderr


def test_the_commands_exit_code_is_kept() -> None:
    result = run_services(sys.executable, "-c", "raise SystemExit(3)", SALON_TEST_POSTGRES_URL="x")
    assert result.returncode == 3


def test_sigterm_still_stops_what_it_started(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from services import pg_bin_dir
    finally:
        sys.path.pop(0)
    if pg_bin_dir() is None:
        pytest.skip("no initdb/pg_ctl here (install: apt-get install -y postgresql)")
    marker = tmp_path / "url"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SALON_TEST_")}
    environ["SALON_TEST_LOCALSTACK"] = "0"
    waiter = (
        "import os, pathlib, time; "
        f"pathlib.Path({str(marker)!r}).write_text(os.environ['SALON_TEST_POSTGRES_URL']); "
        "time.sleep(300)"
    )
    process = subprocess.Popen(
        [sys.executable, str(SERVICES), "--", sys.executable, "-c", waiter],
        env=environ,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):
            if marker.exists() and marker.read_text():
                break
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.1)
        port = urlsplit(marker.read_text()).port or 0
        assert not refuses("127.0.0.1", port)  # it is up while the command runs
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    folder = next(
        line.rsplit("cluster in ", 1)[1].strip()
        for line in stderr.splitlines()
        if "cluster in " in line
    )
    assert refuses("127.0.0.1", port)
    assert not Path(folder).exists()
