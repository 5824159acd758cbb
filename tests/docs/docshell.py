"""One bash session that runs documented commands as a reader would type them.

Commands run one at a time in the same shell, so ``cd``, ``export`` and ``eval`` carry over.
Each command's output goes to its own log file. A command that serves until stopped
(``make run``, ``salon serve``, ``salon worker``) is started in the background in its own
process group (``set -m``), as a reader would leave it running in a second terminal; the test
stops it by signalling that group.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .docblocks import Block

MARK = "__docshell_status__"
# Commands that do not return until stopped: run in the background, then waited on.
LONG_RUNNING = re.compile(
    r"\bmake\s+run\b|\bsalon\s+serve\b|\bsalon\s+worker\b(?!.*--once)|^\S*moto_server\b"
)


def is_long_running(command: str) -> bool:
    """Whether ``command`` serves until stopped; its trailing comments do not count (a comment
    may name a command it does not run)."""
    return bool(LONG_RUNNING.search(re.sub(r"\s+#.*$", "", command, flags=re.M)))


class DocCommandFailed(AssertionError):
    pass


@dataclass
class Result:
    command: str
    status: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Background:
    command: str
    pgid: int
    log: Path

    def alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        return True

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the whole group (make, salon, granian's workers), SIGKILL if it stays."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + timeout
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not self.alive():
                return


class Shell:
    """``bash`` fed one command at a time; raises with the command's output when one fails."""

    def __init__(self, cwd: Path, env: dict[str, str], logs: Path) -> None:
        self.logs = logs
        self.start_env = dict(env)
        logs.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.background: list[Background] = []
        self._buffer = b""
        self._process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-s"],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._send("set -m\n")  # each background job gets a process group of its own

    def _send(self, text: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(text.encode())
        self._process.stdin.flush()

    def _read_status(self, timeout: float, what: str) -> str:
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while MARK.encode() not in self._buffer or not self._buffer.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise DocCommandFailed(f"no answer within {timeout:.0f} s from: {what}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise DocCommandFailed(f"the shell exited while running: {what}")
                self._buffer += chunk
        _, _, rest = self._buffer.partition(MARK.encode())
        value, _, self._buffer = rest.partition(b"\n")
        return value.decode().strip()

    def _log(self) -> Path:
        self.count += 1
        return self.logs / f"{self.count:02d}.log"

    def run(self, command: str, *, timeout: float = 600, check: bool = True) -> Result:
        log = self._log()
        log.write_text(f"$ {command}\n")
        self._send(f"{{ {command}\n}} </dev/null >>{shlex.quote(str(log))} 2>&1\n")
        self._send(f'echo "{MARK} $?"\n')
        result = Result(command, int(self._read_status(timeout, command)), log)
        if check and result.status != 0:
            raise DocCommandFailed(
                f"`{command}` exited with {result.status}:\n{_tail(result.output())}"
            )
        return result

    def capture(self, command: str, *, timeout: float = 120) -> str:
        """The standard output of ``command`` run in this shell (its stderr goes to the log)."""
        out = self._log().with_suffix(".out")
        # On a line of its own: a trailing comment in `command` must not swallow the redirect.
        self.run(f"{{ {command}\n}} > {shlex.quote(str(out))}", timeout=timeout)
        return out.read_text()

    def start(self, command: str) -> Background:
        log = self._log()
        log.write_text(f"$ {command} &\n")
        self._send(f"{{ {command}\n}} </dev/null >>{shlex.quote(str(log))} 2>&1 &\n")
        self._send(f'echo "{MARK} $!"\n')
        job = Background(command, int(self._read_status(30, command)), log)
        self.background.append(job)
        return job

    def run_block(self, block: Block, *, timeout: float = 600) -> list[Background]:
        """Every command of ``block`` in order; long-running ones are started and left
        running (returned). Raises, naming the block, on the first failing command."""
        started: list[Background] = []
        for command in block.commands():
            try:
                if is_long_running(command):
                    started.append(self.start(command))
                else:
                    self.run(command, timeout=timeout)
            except DocCommandFailed as exc:
                raise DocCommandFailed(f"{block.where()}: {exc}") from None
        return started

    def env(self) -> dict[str, str]:
        """The shell's exported variables now (after ``export`` / ``eval`` in the docs)."""
        dump = self.logs / "env.bin"
        self.run(f"env -0 > {shlex.quote(str(dump))}")
        pairs = (item.split("=", 1) for item in dump.read_text().split("\0") if "=" in item)
        return dict(pairs)

    def close(self) -> None:
        for job in reversed(self.background):
            job.stop()
        if self._process.poll() is None:
            try:
                self._send("exit\n")
                self._process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=10)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])
