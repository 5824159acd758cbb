"""Many users, large libraries (issue 19.6): mixed traffic on PostgreSQL.

1,000 users with 1,000 images each (1M in total), one album each; a real ``salon serve``
(granian, one worker, default settings) and wrk with 64 connections for 60 s, every request as
a random user (its own bearer token) picking a route by weight:

====================  ======  ==============================================================
route                 share   request (expected status)
====================  ======  ==============================================================
``list_first``        40 %    ``GET /api/images?limit=50`` (200)
``list_next``         20 %    the same with a ``next_cursor`` this connection was given (200)
``image_json``        20 %    ``GET /api/images/{id}`` (200)
``rendition``         10 %    ``GET /api/images/{id}/renditions/sm``: the signed redirect (307)
``favorite``          2.5 %   ``PUT /api/images/{id}/favorite`` (200)
``unfavorite``        2.5 %   ``DELETE /api/images/{id}/favorite`` (200)
``album_create``      1 %     ``POST /api/albums`` (201)
``album_add``         2 %     ``POST /api/albums/{id}/images``, one image of the user (200)
``upload``            2 %     ``POST /api/images``, a distinct 320x240 JPEG, multipart (201)
====================  ======  ==============================================================

Reads are 90 %, favorites/albums 8 %, uploads 2 %. Any other status, and any socket error or
timeout (wrk's own), is an error; the target is 0.

**Seeding.** Accounts, users, albums and images are inserted with SQL before the server
starts (``COPY``, images through ``bench_listing.fast_rows``: user ``k`` owns indices
``k*n .. (k+1)*n``, so every id is distinct). Every account gets the same password hash,
computed once by ``argon2.PasswordHasher()`` with the defaults ``LocalAuthProvider`` uses (so
the log-in does not rehash). Then every user **logs in through the API** (8 at a time: the
server checks at most 2 passwords at once and queues 16) and gets a real access token and
session: nothing bypasses authentication. The seeded images have no files; the routes above
never read them (the rendition answer is a signed redirect, the file is not opened).

**Load generator.** wrk with a Lua script and one connection per wrk thread (``-t64 -c64``):
``request()`` and ``response()`` then alternate on each thread, so the script can time every
request (``clock_gettime`` through LuaJIT's FFI) and check its status per route; the samples
are collected in ``done()``. wrk costs little CPU; only the server's is counted.

**Figures.** Requests per server CPU-second: the CPU of the server's process tree (granian,
its worker and the media child process that makes renditions, per pid from /proc, pids that
appear during the run included) over the run, plus the time after it until no upload is left
``processing`` (so uploads are charged their renditions), divided into the requests answered.
Beside it, the bare Litestar route (``bare_app.py``) on the same granian settings, measured
just before. p50/p99 per route (wall-clock, from wrk's side), and the error count.

    .venv/bin/python benchmarks/listing/bench_many_users.py            # 1,000 users, 1M, 60 s
    .venv/bin/python benchmarks/listing/bench_many_users.py --short    # 50 users, 25k, 15 s

PostgreSQL: ``--pg-admin``, else ``SALON_BENCH_PG_ADMIN``, else ``SALON_TEST_POSTGRES_URL``
(``make bench`` runs under ``tests/services.py``), else the README's local cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_listing  # benchmarks/listing/bench_listing.py
import common  # benchmarks/common.py

HERE = Path(__file__).resolve().parent
PASSWORD = "many-users-bench-password"
LOGINS_AT_ONCE = 8  # below the server's 2 running + 16 queued password checks
# route -> (share of requests in %, expected status)
MIX: dict[str, tuple[float, int]] = {
    "list_first": (40, 200),
    "list_next": (20, 200),
    "image_json": (20, 200),
    "rendition": (10, 307),
    "favorite": (2.5, 200),
    "unfavorite": (2.5, 200),
    "album_create": (1, 201),
    "album_add": (2, 200),
    "upload": (2, 201),
}
BOUNDARY = "salonbenchmanyusers7f3a"
TOKEN_TTL_S = 4 * 3600


@dataclass
class Account:
    email: str
    account_id: uuid.UUID
    user_id: uuid.UUID
    album_id: uuid.UUID
    first_index: int
    token: str = ""


# --------------------------------------------------------------------------- seeding


def password_hash() -> str:
    """One hash for every account, made the way the local auth provider makes them."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash(PASSWORD)


async def seed(dsn: str, users: int, per_user: int) -> tuple[list[Account], float]:
    """Accounts, users, one album each and ``per_user`` images each, by COPY; then ANALYZE."""
    import asyncpg  # type: ignore[import-untyped]

    t0 = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    hashed = password_hash()
    accounts = [
        Account(f"user{k:05d}@example.com", uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), k * per_user)
        for k in range(users)
    ]
    owner = accounts[0].user_id
    check = next(bench_listing.fast_rows(owner, 0, 1, sqlite=False))
    assert check == bench_listing._slow_row(owner, 0, None), "fast_rows drifted from the models"
    images = itertools.chain.from_iterable(
        bench_listing.fast_rows(a.user_id, a.first_index, a.first_index + per_user, sqlite=False)
        for a in accounts
    )
    audit = ["created_at", "updated_at"]
    tables: dict[str, tuple[Any, list[str]]] = {
        "local_accounts": (
            [(a.account_id, a.email, hashed, now, now) for a in accounts],
            ["id", "email", "password_hash", *audit],
        ),
        "users": (
            [(a.user_id, "local", str(a.account_id), a.email, now, now) for a in accounts],
            ["id", "provider", "subject", "email", *audit],
        ),
        "albums": (
            [(a.album_id, a.user_id, "Seeded", now, now) for a in accounts],
            ["id", "owner_id", "name", *audit],
        ),
        "images": (images, list(bench_listing.COLUMNS)),
    }
    conn = await asyncpg.connect(dsn)
    try:
        # Row triggers (change notifications for servers, none running yet; the search index)
        # cost more than the COPY itself: off for this session, the index is filled after.
        await conn.execute("SET session_replication_role = replica")
        for table, (records, columns) in tables.items():
            await conn.copy_records_to_table(table, records=records, columns=columns)
        await conn.execute("SET session_replication_role = DEFAULT")
        took = time.perf_counter() - t0
        await fill_search_index(conn)
        say(f"COPY {took:.1f} s, search index {time.perf_counter() - t0 - took:.1f} s")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return accounts, time.perf_counter() - t0


async def fill_search_index(conn: Any) -> None:
    """The search index as its migration builds it (``salon.db.search``), the GIN index
    created after the rows rather than updated with each."""
    from salon.db import search

    statements = search.install_statements("postgresql")
    gin = [s for s in statements if "USING gin" in s]
    await conn.execute("DROP INDEX IF EXISTS ix_image_search_tsv")
    for statement in [s for s in statements if s not in gin] + gin:
        await conn.execute(statement)


def log_in_all(base: str, accounts: Sequence[Account]) -> float:
    """Every account logs in through the API (a real session and access token each)."""
    import httpx

    t0 = time.perf_counter()

    def one(client: httpx.Client, account: Account) -> None:
        for attempt in range(5):
            r = client.post("/api/auth/login", json={"email": account.email, "password": PASSWORD})
            if r.status_code != 429:
                break
            time.sleep(1 + attempt)  # the password checker's queue was full: a flood guard
        r.raise_for_status()
        account.token = str(r.json()["access_token"])

    with (
        httpx.Client(base_url=base, timeout=120) as client,
        ThreadPoolExecutor(LOGINS_AT_ONCE) as pool,
    ):
        list(pool.map(lambda a: one(client, a), accounts))
    return time.perf_counter() - t0


def small_jpeg() -> bytes:
    """A 320x240 photo-like JPEG (noise, so it is not trivially compressible)."""
    from PIL import Image

    image = Image.effect_noise((320, 240), 40).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


# --------------------------------------------------------------------------- wrk + Lua

LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } salon_timespec;
int clock_gettime(int clk_id, salon_timespec *tp);
]]
local ts = ffi.new("salon_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local function hexid(i, low)  -- bench_listing.fast_rows: UUID(int=(i << 64) | low)
  local h = string.format("%016x", i)
  return h:sub(1, 8) .. "-" .. h:sub(9, 12) .. "-" .. h:sub(13, 16) .. "-" .. low:sub(1, 4)
    .. "-" .. low:sub(5, 16)
end

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", c:byte()) end))
end

function init(args)
  math.randomseed(tid * 7919 + os.time())
  dofile(DATA)  -- users = {{token, low, first_index, album_id}, ...}; PER_USER; JPEG paths
  jpeg = read(JPEG)
  head, tail = read(HEAD), read(TAIL)
  -- one line per answer, in a file of this thread's own (wrk's thread:get crashes copying
  -- nested tables back to done()); the process flushes it at exit
  log = assert(io.open(OUT .. "." .. tid, "w"))
  log:setvbuf("full", 65536)
  cursors = {}
  counter = 0
  routes, weights = {}, {}
  for _, rw in ipairs(MIX) do table.insert(routes, rw[1]); table.insert(weights, rw[2]) end
end

local function pick_route()
  local r = math.random() * 100
  for i, w in ipairs(weights) do
    if r < w then return routes[i] end
    r = r - w
  end
  return routes[1]
end

local function image_id(u)
  return hexid(u[3] + math.random(0, PER_USER - 1), u[2])
end

function request()
  local u = users[math.random(#users)]
  route = pick_route()
  local h = {["Authorization"] = "Bearer " .. u[1]}
  local method, path, body = "GET", nil, nil
  if route == "list_next" then
    if #cursors == 0 then
      route = "list_first"
    else
      cur = math.random(#cursors)
      u = cursors[cur][1]
      h["Authorization"] = "Bearer " .. u[1]
      path = "/api/images?limit=50&cursor=" .. urlencode(cursors[cur][2])
    end
  end
  if route == "list_first" then
    path = "/api/images?limit=50"
  elseif route == "image_json" then
    path = "/api/images/" .. image_id(u)
  elseif route == "rendition" then
    path = "/api/images/" .. image_id(u) .. "/renditions/sm"
  elseif route == "favorite" or route == "unfavorite" then
    method = route == "favorite" and "PUT" or "DELETE"
    path = "/api/images/" .. image_id(u) .. "/favorite"
  elseif route == "album_create" then
    method, path = "POST", "/api/albums"
    h["Content-Type"] = "application/json"
    counter = counter + 1
    body = string.format('{"name": "Trip %d-%d"}', tid, counter)
  elseif route == "album_add" then
    method, path = "POST", "/api/albums/" .. u[4] .. "/images"
    h["Content-Type"] = "application/json"
    body = '{"image_ids": ["' .. image_id(u) .. '"]}'
  elseif route == "upload" then
    method, path = "POST", "/api/images"
    h["Content-Type"] = "multipart/form-data; boundary=" .. BOUNDARY
    counter = counter + 1
    -- a JPEG comment segment (2 + 24 bytes) right after SOI: distinct bytes per upload
    local tag = string.format("%06d%06d%012d", RUN % 1000000, tid, counter)
    body = head .. jpeg:sub(1, 2) .. "\255\254\0\26" .. tag .. jpeg:sub(3) .. tail
  end
  user = u
  t0 = now_us()
  return wrk.format(method, path, h, body)
end

function response(status, headers, body)
  log:write(route, " ", status, " ", math.floor(now_us() - t0), "\n")
  if status == 200 and (route == "list_first" or route == "list_next") then
    local c = body:match('"next_cursor":%s*"([^"]+)"')
    if route == "list_next" then table.remove(cursors, cur) end
    if c then
      if #cursors >= 64 then table.remove(cursors, math.random(#cursors)) end
      table.insert(cursors, {user, c})
    end
  end
end

function done(summary, latency, requests)
  local f = assert(io.open(OUT, "w"))
  local e = summary.errors
  f:write(string.format("E %d %d %d %d\n", e.connect, e.read, e.write, e.timeout))
  f:write(string.format("R %d %d %d\n", summary.requests, summary.duration, #threads))
  f:close()
end
"""


def write_script(tmp: Path, accounts: Sequence[Account], per_user: int) -> tuple[Path, Path]:
    """The Lua script (globals first, then ``LUA``), its data file and the upload parts."""
    jpeg, head, tail, data, out = (tmp / n for n in ("u.jpg", "head", "tail", "data.lua", "out"))
    jpeg.write_bytes(small_jpeg())
    head.write_bytes(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="trip.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
    )
    tail.write_bytes(f"\r\n--{BOUNDARY}--\r\n".encode())
    lines = ["users = {"]
    for a in accounts:
        low = f"{0x5A1_0000_0000_0000 | a.user_id.int & 0xFFFF:016x}"
        lines.append(f'{{"{a.token}", "{low}", {a.first_index}, "{a.album_id}"}},')
    lines.append("}")
    data.write_text("\n".join(lines) + "\n")
    mix = ", ".join(f'{{"{name}", {share}}}' for name, (share, _) in MIX.items())
    header = (
        f'DATA, JPEG, HEAD, TAIL, OUT = "{data}", "{jpeg}", "{head}", "{tail}", "{out}"\n'
        f'BOUNDARY, PER_USER, RUN = "{BOUNDARY}", {per_user}, {os.getpid()}\n'
        f"MIX = {{{mix}}}\n"
    )
    script = tmp / "mix.lua"
    script.write_text(header + LUA)
    return script, out


@dataclass
class Outcome:
    requests: int = 0
    seconds: float = 0.0
    socket_errors: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    latencies_us: dict[str, list[int]] = field(default_factory=dict)

    def unexpected(self) -> dict[str, int]:
        return {
            f"{route} {status}": n
            for (route, status), n in self.statuses.items()
            if status != MIX[route][1]
        }


def read_outcome(out: Path) -> Outcome:
    """wrk's summary from ``out``, each answer from the threads' ``out.<n>`` files."""
    res = Outcome()
    threads = 0
    for line in out.read_text().splitlines():
        kind, *values = line.split()
        if kind == "E":
            res.socket_errors = sum(int(v) for v in values)
        elif kind == "R":
            res.requests, threads = int(values[0]), int(values[2])
            res.seconds = int(values[1]) / 1e6
    for tid in range(1, threads + 1):
        for line in Path(f"{out}.{tid}").read_text().splitlines():
            route, status, micros = line.split()
            res.statuses[(route, int(status))] += 1
            res.latencies_us.setdefault(route, []).append(int(micros))
    return res


class TreeCpu:
    """CPU seconds of a process tree, per pid, so that children started during the run (the
    media process starts with the first upload) count from their first second."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.start = self._per_pid()

    def _per_pid(self) -> dict[int, float]:
        pids = [self.root, *common.descendants(self.root)]
        return {pid: common.cpu_seconds([pid]) for pid in pids}

    def used(self) -> float:
        now = self._per_pid()
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in now.items())


def run_wrk(base: str, script: Path, seconds: float, connections: int) -> None:
    argv = [
        common.wrk_path(), f"-t{connections}", f"-c{connections}",
        f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", str(script), base,
    ]  # fmt: skip
    subprocess.run(argv, capture_output=True, text=True, check=True)


async def processing_left(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM images WHERE status = 'processing'"))
    finally:
        await conn.close()


def drain(dsn: str, limit_s: float = 120) -> float:
    """Wait until no upload is left ``processing``; returns the seconds waited."""
    t0 = time.perf_counter()
    while asyncio.run(processing_left(dsn)) and time.perf_counter() - t0 < limit_s:
        time.sleep(0.5)
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- figures


def percentile(values: Sequence[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000 if ordered else 0.0


def info_row(name: str, value: float, reference: float, unit: str, **extra: Any) -> dict[str, Any]:
    """A reported figure with no target of its own (the issue sets none)."""
    r = common.row(name, value, reference, 0.0, ">=", unit, on="value", **extra)
    return r | {"op": "", "target": "-", "ok": True}


def figures(
    res: Outcome, cpu_s: float, bare: dict[str, float], extra: dict[str, Any]
) -> list[dict[str, Any]]:
    errors = res.socket_errors + sum(res.unexpected().values())
    rows = [
        info_row(
            "many_users.postgres.req_per_cpu_s",
            res.requests / cpu_s if cpu_s else 0.0,
            bare["rps_per_cpu"],
            "req per server CPU-s (reference: bare route)",
            requests=res.requests,
            server_cpu_s=round(cpu_s, 2),
            **extra,
        ),
        common.row(
            "many_users.postgres.errors",
            errors,
            res.requests,
            0,
            "<=",
            "errors (reference: requests)",
            on="value",
            unexpected=res.unexpected(),
            socket_errors=res.socket_errors,
        ),
    ]
    for route in MIX:
        lat = res.latencies_us.get(route, [])
        rows.append(
            info_row(
                f"many_users.postgres.{route}.p99",
                percentile(lat, 0.99),
                percentile(lat, 0.50),
                f"ms p99 (reference: p50), {len(lat)} requests",
                requests=len(lat),
            )
        )
    return rows


# --------------------------------------------------------------------------- the run


def run(args: argparse.Namespace, bare: dict[str, float]) -> list[dict[str, Any]]:
    per_user = args.images // args.users
    with (
        tempfile.TemporaryDirectory(prefix="salon-bench-many-users-") as tmp,
        bench_listing.postgres_database(args.pg_admin) as dsn,
    ):
        data = Path(tmp)
        # Access tokens outlive the log-ins (1,000 take minutes on a busy machine) and the run.
        env = common.salon_env(
            data,
            bench_listing._sqlalchemy_url("postgres", data, dsn),
            SALON_ACCESS_TOKEN_TTL=str(TOKEN_TTL_S),
        )
        subprocess.run(
            [common.salon_bin(), "db", "upgrade"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        accounts, seeded = asyncio.run(seed(dsn, args.users, per_user))
        say(f"seeded {args.users} users, {per_user * args.users} images ({seeded:.1f} s)")
        port = common.free_port()
        base = f"http://127.0.0.1:{port}"
        with common.spawn(
            [common.salon_bin(), "serve", "--port", str(port)], ready_url=f"{base}/ready", env=env
        ) as server:
            logged = log_in_all(base, accounts)
            say(f"{len(accounts)} log-ins through the API ({logged:.1f} s)")
            script, out = write_script(data, accounts, per_user)
            run_wrk(base, script, 2, args.connections)  # warm-up: pool, caches, media process
            drain(dsn)
            load = os.getloadavg()
            cpu = TreeCpu(server.proc.pid)
            run_wrk(base, script, args.seconds, args.connections)
            drained = drain(dsn)
            cpu_s = cpu.used()
            res = read_outcome(out)
            load_after = os.getloadavg()
        say(f"server needed SIGKILL: {server.needed_sigkill}")
    extra = {
        "users": args.users,
        "images": per_user * args.users,
        "seconds": round(res.seconds, 1),
        "connections": args.connections,
        "drain_s": round(drained, 1),
        "seed_s": round(seeded, 1),
        "login_s": round(logged, 1),
        "loadavg_before": [round(x, 2) for x in load],
        "loadavg_after": [round(x, 2) for x in load_after],
    }
    say(f"{res.requests} requests in {res.seconds:.1f} s, server CPU {cpu_s:.1f} s, {extra}")
    if res.unexpected() or res.socket_errors:
        say(f"errors: {res.unexpected()}, socket errors {res.socket_errors}")
    return figures(res, cpu_s, bare, extra)


def say(text: str) -> None:
    print(f"many_users: {text}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Salon: many users, mixed traffic", allow_abbrev=False)
    p.add_argument("--short", action="store_true", help="50 users, 25k images, 15 s")
    p.add_argument("--users", type=int, help="default 1000 (50 short)")
    p.add_argument("--images", type=int, help="in total; default 1,000,000 (25,000 short)")
    p.add_argument("--seconds", type=float, help="default 60 (15 short)")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--pg-admin", default=bench_listing.pg_admin_default())
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.users = args.users or (50 if args.short else 1000)
    args.images = args.images or (25_000 if args.short else 1_000_000)
    args.seconds = args.seconds or (15.0 if args.short else 60.0)
    say(json.dumps(common.environment()))
    if note := common.busy_note():
        say(note)
    if not bench_listing._postgres_up(args.pg_admin):
        say("PostgreSQL not reachable; nothing measured (see README)")
        return 0
    bare = bench_listing.measure_bare(5.0 if args.short else 15.0)
    say(f"bare reference {bare}")
    rows = run(args, bare)
    if args.short:
        for r in rows:
            r["note"] = f"--short: {args.users} users, {args.images} images, {args.seconds:.0f} s"
    common.print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
