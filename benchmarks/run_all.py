"""Run the short form of every benchmark and print one table (``make bench``).

Each benchmark is a script that prints one JSON object per figure on stdout (``name, value,
reference, ratio, target, op, ok, unit``) and its own notes on stderr. They run one after the
other (never together: they would share the cores), each as its own process; a benchmark that
fails is reported as a failed row and the others still run. The whole takes under 10 minutes
on a quiet 2-core machine.

    .venv/bin/python benchmarks/run_all.py [--only listing serving] [--json out.jsonl]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # benchmarks/common.py

HERE = Path(__file__).resolve().parent

# name -> (script, arguments of its short form)
BENCHMARKS: dict[str, tuple[str, list[str]]] = {
    "ingest": ("ingest/bench_ingest.py", ["--short"]),
    "intake": ("intake/bench_intake.py", ["--short"]),
    "listing": ("listing/bench_listing.py", ["--short"]),
    # issue 19.2: every request a page-cache miss (token and user cached), 10k images
    "listing_misses": (
        "listing/bench_listing.py",
        ["--short", "--page-misses", "--sizes", "10000"],
    ),
    "multiuser": ("listing/bench_multiuser.py", ["--short"]),
    "many_users": ("listing/bench_many_users.py", ["--short"]),
    "serving": ("serving/bench_serving.py", ["--short"]),
    "memory": ("memory/bench_memory.py", ["--short"]),
    "startup": ("startup/bench_startup.py", ["--short"]),
    "video": ("video/bench_video.py", ["--short"]),
}


def run(name: str, timeout: float) -> tuple[list[dict[str, Any]], float, str]:
    """The rows one benchmark printed, its duration, and the tail of its stderr."""
    script, args = BENCHMARKS[name]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(HERE / script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=HERE.parent,
        )
        out, err, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err, code = f"timed out after {timeout:.0f} s", -1
    rows = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                rows.append(json.loads(line))
    # Some scripts exit 1 when a target is missed; that is a result, not a failure.
    if code != 0 and not (code == 1 and rows):
        rows.append(
            {"name": f"{name}: FAILED (exit {code})", "value": "-", "reference": "-",
             "ratio": "-", "target": "-", "op": "", "ok": False, "unit": err.strip()[-200:]}
        )  # fmt: skip
    return rows, time.perf_counter() - t0, err


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"{'figure':<40}{'value':>12}{'reference':>12}{'ratio':>8}  {'target':<16}holds  unit",
        "-" * 110,
    ]
    for r in rows:
        target = r["target"]
        if r.get("op"):
            target = f"{'value ' if r.get('on') == 'value' else ''}{r['op']} {r['target']}"
        lines.append(
            f"{r['name']:<40}{r['value']!s:>12}{r['reference']!s:>12}{r['ratio']!s:>8}  "
            f"{target!s:<16}{'yes' if r['ok'] else 'NO':<7}{r.get('unit', '')}"
        )
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Run every benchmark's short form", allow_abbrev=False)
    p.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run just these")
    p.add_argument("--skip", nargs="+", choices=sorted(BENCHMARKS), default=[])
    p.add_argument("--timeout", type=float, default=300, help="seconds per benchmark")
    p.add_argument("--json", type=Path, help="also write every row here (JSON lines)")
    p.add_argument(
        "--log-dir",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "salon-bench-logs",
        help="each benchmark's stderr (environment, notes, plans) goes to <name>.log here",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    names = [n for n in (args.only or BENCHMARKS) if n not in args.skip]
    env = common.environment()
    print(f"machine: {env['cpu_model']}, {env['cpus']} cores, load {env['loadavg']}", flush=True)
    if note := common.busy_note():
        print(f"note: {note}", flush=True)
    rows: list[dict[str, Any]] = []
    args.log_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for name in names:
        print(f"running {name} ...", end=" ", flush=True)
        got, seconds, err = run(name, args.timeout)
        (args.log_dir / f"{name}.log").write_text(err)
        print(f"{seconds:.0f} s (load {os.getloadavg()[0]:.1f})", flush=True)
        rows += got
    print(f"\nall benchmarks: {time.perf_counter() - t0:.0f} s; logs in {args.log_dir}\n")
    print(table(rows))
    if args.json:
        args.json.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
