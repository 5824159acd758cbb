"""Multi-user listing benchmark (issue 19.1): many users' first pages while another user writes.

8 users with 30 photos each (inserted with SQL as in ``bench_listing.py``); wrk with 32
connections lists random users' first pages (``GET /api/images?limit=50``, each request with a
random user's token, via a wrk Lua script). Two runs per database: nothing changing, and a 9th
user favoriting/unfavoriting one of its photos every 50 ms through the API meanwhile. The
reference is ``bare_app.py`` (a Litestar route returning 50 small dicts) on granian with the
same options, measured just before each database. Figures are requests per server CPU-second
(the writer's requests are served by the same server and count in its CPU, not in wrk's
requests); targets: >= 0.25 of bare while writing, >= 0.5 read-only.

    .venv/bin/python benchmarks/listing/bench_multiuser.py [--short] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_listing  # benchmarks/listing/bench_listing.py
import common  # benchmarks/common.py

USERS = 8
PHOTOS = 30
WRITE_EVERY_S = 0.05
CONNECTIONS = 32

LUA = """
tokens = {%s}
init = function(args) math.randomseed(os.time() + math.floor(os.clock() * 1e6) + #args) end
request = function()
  local t = tokens[math.random(#tokens)]
  return wrk.format("GET", "/api/images?limit=50", {["Authorization"] = "Bearer " .. t})
end
"""


def wrk_script(url: str, script: Path, seconds: float, pids: Sequence[int]) -> common.WrkResult:
    argv = [
        common.wrk_path(), "-t2", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s",
        "--latency", "-s", str(script), url,
    ]  # fmt: skip
    cpu0 = common.cpu_seconds(pids)
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    cpu = common.cpu_seconds(pids) - cpu0
    m = re.search(r"(\d+) requests in ([\d.]+)(ms|s)", out)
    if not m:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    secs = float(m.group(2)) / (1000 if m.group(3) == "ms" else 1)
    return common.WrkResult(
        requests=int(m.group(1)),
        seconds=secs,
        rps=int(m.group(1)) / secs,
        p50_ms=common._ms(pct["50"]),
        p99_ms=common._ms(pct["99"]),
        errors=sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        server_cpu_s=cpu,
    )


class Writer(threading.Thread):
    """Favorites and unfavorites one photo every 50 ms as another user."""

    def __init__(self, base: str, token: str, image_id: str) -> None:
        super().__init__(daemon=True)
        self.base, self.token, self.image_id = base, token, image_id
        self.stop = threading.Event()
        self.writes = 0
        self.failures = 0

    def run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"{self.base}/api/images/{self.image_id}/favorite"
        with httpx.Client(timeout=30, headers=headers) as client:
            on = True
            while not self.stop.is_set():
                started = time.monotonic()
                answer = client.put(url) if on else client.delete(url)
                self.writes += 1
                self.failures += answer.status_code != 200
                on = not on
                self.stop.wait(max(0.0, WRITE_EVERY_S - (time.monotonic() - started)))


def seed(db: str, data: Path, dsn: str | None, owner: uuid.UUID, k: int) -> None:
    start = (k + 1) * 1000  # ids hold 16 bits of the owner: distinct index ranges per user
    if db == "sqlite":
        bench_listing.seed_sqlite(data / "salon.db", owner, start, start + PHOTOS)
    else:
        asyncio.run(bench_listing.seed_postgres(dsn or "", owner, start, start + PHOTOS))


def run_db(db: str, seconds: float, bare: dict[str, float], args: Any) -> list[dict[str, Any]]:
    import httpx

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=f"salon-bench-multiuser-{db}-") as tmp:
        data = Path(tmp)
        dsn_cm = (
            bench_listing.postgres_database(args.pg_admin)
            if db == "postgres"
            else bench_listing._nullcm()
        )
        with dsn_cm as dsn:
            url = bench_listing._sqlalchemy_url(db, data, dsn)
            env = common.salon_env(data, url, SALON_READ_CACHE_MB=str(args.read_cache_mb))
            subprocess.run(
                [common.salon_bin(), "db", "upgrade"],
                env={**os.environ, **env},
                check=True,
                capture_output=True,
            )
            port = common.free_port()
            base = f"http://127.0.0.1:{port}"
            with common.spawn(
                [common.salon_bin(), "serve", "--port", str(port)],
                ready_url=f"{base}/ready",
                env=env,
            ) as server:
                tokens = []
                for k in range(USERS + 1):
                    token = common.login(base, email=f"user{k}@example.com")
                    me = httpx.get(
                        f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
                    ).json()
                    seed(db, data, dsn, uuid.UUID(me["id"]), k)
                    tokens.append(token)
                readers, writer_token = tokens[:USERS], tokens[USERS]
                page = httpx.get(
                    f"{base}/api/images?limit=50",
                    headers={"Authorization": f"Bearer {writer_token}"},
                    timeout=30,
                ).json()
                assert len(page["items"]) == PHOTOS, page
                script = data / "users.lua"
                script.write_text(LUA % ", ".join(f'"{t}"' for t in readers))
                target = f"{base}/api/images?limit=50"
                wrk_script(target, script, 1, server.pids())  # warm-up
                quiet = wrk_script(target, script, seconds, server.pids())
                writer = Writer(base, writer_token, page["items"][0]["id"])
                writer.start()
                try:
                    busy = wrk_script(target, script, seconds, server.pids())
                finally:
                    writer.stop.set()
                    writer.join(10)
                for name, res in (("read_only", quiet), ("writing", busy)):
                    if res.non_2xx:
                        raise RuntimeError(f"{db} {name}: {res.non_2xx} answers were not 2xx")
                    print(f"multiuser: {db} {name}: {vars(res)}", file=sys.stderr)
                extra = {"writes": writer.writes, "write_failures": writer.failures}
                rows += [
                    common.row(
                        f"multiuser.{db}.read_only_vs_bare_cpu",
                        quiet.rps_per_cpu,
                        bare["rps_per_cpu"],
                        0.5,
                        ">=",
                        "req per server CPU-s",
                    ),
                    common.row(
                        f"multiuser.{db}.writing_vs_bare_cpu",
                        busy.rps_per_cpu,
                        bare["rps_per_cpu"],
                        0.25,
                        ">=",
                        "req per server CPU-s",
                        **extra,
                    ),
                ]
    return rows


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Salon multi-user listing", allow_abbrev=False)
    p.add_argument("--short", action="store_true", help="5 s runs (12 s otherwise)")
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--seconds", type=float)
    p.add_argument(
        "--pg-admin",
        default=bench_listing.pg_admin_default(),
    )
    p.add_argument("--read-cache-mb", type=int, default=32)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    seconds = args.seconds or (5.0 if args.short else 12.0)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if note := common.busy_note():
        print(f"multiuser: {note}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    for db in dbs:
        bare = bench_listing.measure_bare(seconds)
        print(f"multiuser: bare reference {bare}", file=sys.stderr)
        if db == "postgres" and not bench_listing._postgres_up(args.pg_admin):
            print("multiuser: PostgreSQL not reachable; skipped (see README)", file=sys.stderr)
            continue
        rows += run_db(db, seconds, bare, args)
    common.print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
