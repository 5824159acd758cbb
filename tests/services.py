"""Run a command with the services the test suite needs, started here and stopped afterwards.

    python tests/services.py -- make test-suites

``make test`` runs the suite this way, so a fresh clone needs nothing started beforehand and
nothing already running is touched:

- PostgreSQL: a throw-away cluster (``initdb`` in a temporary folder, a free port, its socket
  in that folder) exported as ``SALON_TEST_POSTGRES_URL``. As root, initdb refuses to run: the
  cluster then belongs to the ``postgres`` user (or ``nobody``) through ``runuser``.
- LocalStack: ``deploy/localstack/run.sh`` on a free port, state in a temporary folder,
  exported as ``SALON_TEST_LOCALSTACK_URL`` (installed into its own venv on first use).

A ``SALON_TEST_POSTGRES_URL`` or ``SALON_TEST_LOCALSTACK_URL`` already set is used as is (you
named it); ``SALON_TEST_LOCALSTACK=0`` leaves LocalStack out. A part that cannot be had is
left unset, and its tests skip; the reason and the command that installs it are printed here.
moto servers need nothing: the tests start them in-process on free ports.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from salon.testing.localstack import free_port, start_localstack

ROOT = Path(__file__).resolve().parents[1]

PG_HINT = "apt-get install -y postgresql"


def say(message: str) -> None:
    print(f"services: {message}", file=sys.stderr, flush=True)


def pg_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: PATH, else Debian's newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def unprivileged_user() -> str | None:
    """``None`` when not root; else a user initdb accepts (it refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and neither `postgres` nor `nobody` exists")


@dataclass
class Postgres:
    bin_dir: Path
    data: Path
    user: str | None

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data / "db"), "-m", "immediate", "-w", "stop")


@contextlib.contextmanager
def postgres() -> Iterator[str | None]:
    """A cluster of our own for the duration of the block; yields its admin URL or None."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        say(f"PostgreSQL tests will skip: no initdb/pg_ctl found (install: {PG_HINT})")
        yield None
        return
    user = unprivileged_user()
    folder = Path(tempfile.mkdtemp(prefix="salon-test-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    cluster = Postgres(bin_dir, folder, user)
    port = free_port()
    try:
        created = cluster.run(
            "initdb", "-D", str(folder / "db"), "-U", "salon", "--auth=trust", "-E", "UTF8"
        )
        if created.returncode != 0:
            say(f"PostgreSQL tests will skip: initdb failed: {created.stderr.strip()[-300:]}")
            yield None
            return
        # Throw-away data: durability settings off, for speed.
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        started = cluster.run(
            "pg_ctl", "-D", str(folder / "db"), "-l", str(folder / "log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        if started.returncode != 0:
            log = (folder / "log").read_text(errors="replace")[-300:]
            say(f"PostgreSQL tests will skip: pg_ctl start failed: {started.stderr} {log}")
            yield None
            return
        url = f"postgresql+asyncpg://salon@127.0.0.1:{port}/postgres"
        say(f"PostgreSQL ({bin_dir}) on 127.0.0.1:{port}, cluster in {folder}")
        yield url
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def localstack() -> Iterator[str | None]:
    script = ROOT / "deploy" / "localstack" / "run.sh"
    say("starting LocalStack on a free port (the first time installs it: about a minute)")
    handle, reason = start_localstack(script)
    if handle is None:
        say(f"LocalStack tests will skip: {reason}")
        yield None
        return
    try:
        say(f"LocalStack on {handle.endpoint_url}")
        yield handle.endpoint_url
    finally:
        handle.stop()


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    # SIGTERM (CI cancelling the job) must still run the `finally` blocks that stop services.
    signal.signal(signal.SIGTERM, _terminate)
    env = dict(os.environ)
    with contextlib.ExitStack() as stack:
        if env.get("SALON_TEST_POSTGRES_URL"):
            say("using SALON_TEST_POSTGRES_URL as set (not started here)")
        else:
            url = stack.enter_context(postgres())
            if url:
                env["SALON_TEST_POSTGRES_URL"] = url
        if env.get("SALON_TEST_LOCALSTACK_URL"):
            say("using SALON_TEST_LOCALSTACK_URL as set (not started here)")
        elif env.get("SALON_TEST_LOCALSTACK", "1") != "0":
            endpoint = stack.enter_context(localstack())
            if endpoint:
                env["SALON_TEST_LOCALSTACK_URL"] = endpoint
        started = time.monotonic()
        child = subprocess.Popen(argv, env=env)
        try:
            code = child.wait()
        except BaseException:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
            raise
        say(f"{' '.join(argv)} exited {code} after {time.monotonic() - started:.0f} s")
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
