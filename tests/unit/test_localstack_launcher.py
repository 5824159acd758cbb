"""The LocalStack launchers never use or stop a service they did not start.

- ``deploy/localstack/run.sh``: with something else (here a decoy that answers LocalStack's
  health check) on its port, ``start`` refuses, prints ``false`` for ``eval``, and ``stop``
  leaves the decoy running.
- ``salon.testing.localstack.ensure_localstack``: without ``SALON_TEST_LOCALSTACK_URL`` it starts
  its own on a free port, even when something healthy answers on the default :4566.

No LocalStack is needed: ``start`` refuses before installing anything.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import salon.testing.localstack as launcher
from salon.testing.localstack import LocalStack, ensure_localstack, find_run_script, free_port


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"services": {"s3": "running"}}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def decoy() -> Iterator[str]:
    """An HTTP server on a free port that looks like a healthy LocalStack."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def run_script(command: str, port: str, state: Path) -> subprocess.CompletedProcess[str]:
    script = find_run_script()
    assert script is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSTACK_")}
    env.update(LOCALSTACK_PORT=port, LOCALSTACK_STATE_DIR=str(state))
    return subprocess.run(
        ["bash", str(script), command], env=env, capture_output=True, text=True, timeout=60
    )


def test_run_sh_refuses_a_port_it_did_not_start_and_leaves_it_running(
    decoy: str, tmp_path: Path
) -> None:
    port = decoy.rsplit(":", 1)[1]
    started = run_script("start", port, tmp_path)
    assert started.returncode == 1
    # `eval "$(run.sh start)"` then fails too, instead of leaving Salon on local defaults.
    assert started.stdout.strip() == "false"
    assert "did not start" in started.stderr and "LOCALSTACK_PORT" in started.stderr
    assert "export" not in started.stdout
    assert not (tmp_path / "localstack.pid").exists()

    stopped = run_script("stop", port, tmp_path)
    assert stopped.returncode == 0
    assert "leaving it alone" in stopped.stderr
    assert launcher.is_healthy(decoy)


def test_run_sh_stop_ignores_a_stale_pidfile_naming_another_process(
    decoy: str, tmp_path: Path
) -> None:
    # A pidfile left behind whose pid now belongs to some other program (here: this pytest).
    (tmp_path / "localstack.pid").write_text(str(os.getpid()))
    stopped = run_script("stop", decoy.rsplit(":", 1)[1], tmp_path)
    assert stopped.returncode == 0
    assert "leaving it alone" in stopped.stderr
    assert launcher.is_healthy(decoy)


def test_ensure_localstack_starts_its_own_even_when_4566_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SALON_TEST_LOCALSTACK_URL", raising=False)
    monkeypatch.delenv("SALON_TEST_LOCALSTACK", raising=False)
    monkeypatch.setattr(launcher, "_shared", None)
    # Everything looks healthy, the default port included: it must still not be used.
    monkeypatch.setattr(launcher, "is_healthy", lambda url, timeout=2.0: True)
    own = f"http://127.0.0.1:{free_port()}"
    calls: list[Path] = []

    def fake_start(script: Path, port: int | None = None) -> tuple[LocalStack, str]:
        calls.append(script)
        return LocalStack(own, started_here=True, run_script=None), ""

    monkeypatch.setattr(launcher, "start_localstack", fake_start)
    handle, reason = ensure_localstack()
    assert reason == ""
    assert handle is not None and handle.endpoint_url == own
    assert not handle.started_here  # the shared one is stopped at exit, not by a caller
    again, _ = ensure_localstack()
    assert again is not None and again.endpoint_url == own
    assert len(calls) == 1  # one per process


def test_ensure_localstack_uses_a_named_one_and_never_stops_it(
    decoy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALON_TEST_LOCALSTACK_URL", decoy)
    monkeypatch.delenv("SALON_TEST_LOCALSTACK", raising=False)
    handle, reason = ensure_localstack()
    assert handle is not None and handle.endpoint_url == decoy and reason == ""
    assert not handle.started_here
    handle.stop()
    assert launcher.is_healthy(decoy)


def test_a_named_one_that_does_not_answer_gives_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("SALON_TEST_LOCALSTACK_URL", url)
    handle, reason = ensure_localstack()
    assert handle is None and url in reason
