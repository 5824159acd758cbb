"""Start-up benchmark: from exec of ``salon serve`` to ``GET /ready`` answering 200.

Target: median of 5 under 2 s (ECS scales out by starting tasks). The database is migrated
once beforehand (as the deploy's migration step does); each run starts a fresh process on the
embedded defaults (SQLite, local storage, local auth) and polls /ready every 20 ms.

Beside the wall time, the CPU seconds the server's processes used until ready are read from
/proc (a busy machine stretches wall time, not CPU time). The reference is a bare Litestar app
under granian (``benchmarks/listing/bare_app.py``): what the server and framework cost alone.

    .venv/bin/python benchmarks/startup/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common  # benchmarks/common.py

TARGET_S = 2.0
BARE_DIR = Path(__file__).resolve().parents[1] / "listing"


def time_to_ready(argv: Sequence[str | Path], env: dict[str, str], url: str) -> tuple[float, float]:
    """Seconds from exec to a 200 from ``url``, and the CPU seconds used by then."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(a) for a in argv],
        env={**os.environ, **env},
        cwd=BARE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        wall = time.perf_counter() - t0
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode} before ready")
            if time.perf_counter() - t0 > 120:
                raise TimeoutError("not ready within 120 s")
            time.sleep(0.02)
        cpu = common.cpu_seconds([proc.pid, *common.descendants(proc.pid)])
        return wall, cpu
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Salon start-up benchmark", allow_abbrev=False)
    p.add_argument("--short", action="store_true", help="the same 5 runs (they are the target)")
    p.add_argument("--runs", type=int, default=5)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(f"startup: {common.environment()}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="salon-bench-startup-") as tmp:
        data = Path(tmp)
        env = common.salon_env(data, f"sqlite+aiosqlite:///{data / 'salon.db'}")
        subprocess.run(
            [common.salon_bin(), "db", "upgrade"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        salon_runs, bare_runs = [], []
        for _ in range(args.runs):
            port = common.free_port()
            salon_runs.append(
                time_to_ready(
                    [common.salon_bin(), "serve", "--port", str(port)],
                    env,
                    f"http://127.0.0.1:{port}/ready",
                )
            )
            port = common.free_port()
            bare = [
                common.VENV_BIN / "granian", "--interface", "asgi", "--factory", "--no-log",
                "--port", str(port), "bare_app:create_app",
            ]  # fmt: skip
            bare_runs.append(time_to_ready(bare, {}, f"http://127.0.0.1:{port}/ready"))
    wall = statistics.median(w for w, _ in salon_runs)
    cpu = statistics.median(c for _, c in salon_runs)
    bare_wall = statistics.median(w for w, _ in bare_runs)
    bare_cpu = statistics.median(c for _, c in bare_runs)
    print(f"startup: salon {salon_runs}\nstartup: bare {bare_runs}", file=sys.stderr)
    rows = [
        common.row("startup.ready_wall_s", wall, bare_wall, TARGET_S, "<", "s to /ready (median)",
                   on="value", runs=[round(w, 2) for w, _ in salon_runs]),
        common.row("startup.ready_cpu_s", cpu, bare_cpu, TARGET_S, "<", "CPU s to /ready (median)",
                   on="value", runs=[round(c, 2) for _, c in salon_runs]),
    ]  # fmt: skip
    common.print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
