"""Listing benchmark: ``GET /api/images?limit=50`` (authenticated) at 10k and 1M images, on
SQLite and PostgreSQL, against a bare Litestar route answering 50 small dicts.

For each database a fresh Salon is migrated and started with ``salon serve`` (granian, one
worker); one user signs up through the API; its images are then inserted directly with SQL
(SQLite ``executemany`` in one transaction with bulk-load PRAGMAs, PostgreSQL ``COPY``), first
the small count, then the large one. The extra rows are *older*, so page 1 holds the same 50
images at both sizes and the comparison isolates what the table size costs. wrk loads each
server at 64 connections; the server's CPU seconds are read from /proc during each run.

Figures (per database):

- ``listing.<db>.<n>.rps_vs_bare``: req/s against the bare route, target >= 0.25. Reported
  twice: wall-clock req/s, and req/s per server CPU second (``..._cpu``), which other tenants
  of a busy machine disturb far less.
- ``listing.<db>.<n>.p99``: p99 latency in ms, target < 50.
- ``listing.<db>.<n>_page_misses.*`` (with ``--page-misses``): the same, every request a
  page-cache miss while the token and the user are cached (what a listing costs after the
  user's own images changed; ``--read-cache-mb 0`` measures every cache off instead).
- ``listing.<db>.large_vs_small``: req/s per CPU second at the large size against the small
  one, target >= 0.9 (within 10%).

The query plans (``EXPLAIN QUERY PLAN`` / ``EXPLAIN (ANALYZE, BUFFERS)``) are printed to stderr
with ``--explain`` and recorded in the README.

    .venv/bin/python benchmarks/listing/bench_listing.py [--short] [--db sqlite|postgres|both]
        [--sizes N ...] [--page-misses | --read-cache-mb 0]

``--short`` uses 10k and 100k images (not 1M) and 5 s wrk runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import common  # benchmarks/common.py

HERE = Path(__file__).resolve().parent
DEFAULT_PG_ADMIN = "postgresql://salon:salon@127.0.0.1:5432/postgres"


def pg_admin_default() -> str:
    """``SALON_BENCH_PG_ADMIN``, else the cluster ``tests/services.py`` started (``make bench``
    runs under it), else the Debian cluster of the README's manual set-up."""
    named = os.environ.get("SALON_BENCH_PG_ADMIN") or os.environ.get("SALON_TEST_POSTGRES_URL")
    return (named or DEFAULT_PG_ADMIN).replace("postgresql+asyncpg://", "postgresql://")


NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
COLUMNS = (
    "id", "owner_id", "title", "content_type", "size", "width", "height", "sha256",
    "storage_key", "taken_at", "favorite", "placeholder", "renditions", "meta",
    "sa_orm_sentinel", "created_at", "updated_at",
)  # fmt: skip


# --------------------------------------------------------------------------- seeding


def _image_values(owner: uuid.UUID, index: int) -> dict[str, Any]:
    """Row ``index`` of the synthetic library: realistic sizes and JSON, newest first."""
    sha = f"{index:08x}" + "5a1o" * 14
    created = NOW - dt.timedelta(seconds=index)
    base = f"renditions/{owner}/{sha[:2]}/{sha}"
    renditions = {
        name: {
            "key": f"{base}/{name}.webp",
            "width": edge,
            "height": edge * 3 // 4,
            "size": edge * 40,
            "content_type": "image/webp",
        }
        for name, edge in (("sm", 320), ("md", 1024), ("lg", 2048))
    }
    return {
        "id": uuid.UUID(int=(index << 64) | 0x5A1_0000_0000_0000 | owner.int & 0xFFFF),
        "owner_id": owner,
        "title": f"IMG_{index:07d}",
        "content_type": "image/jpeg",
        "size": 3_500_000 + index % 100_000,
        "width": 4000,
        "height": 3000,
        "sha256": sha,
        "storage_key": f"originals/{owner}/{sha[:2]}/{sha}",
        "taken_at": created - dt.timedelta(days=1),
        "favorite": index % 10 == 0,
        "placeholder": "1QcSHQRnh493V4dIh4eXh1h4kJUI",
        "renditions": json.dumps(renditions),
        "meta": json.dumps({"filename": f"IMG_{index:07d}.jpg", "make": "SalonBench"}),
        "sa_orm_sentinel": None,
        "created_at": created,
        "updated_at": created,
    }


_RENDITIONS = (
    '{{"sm": {{"key": "{base}/sm.webp", "width": 320, "height": 240, "size": 12800, '
    '"content_type": "image/webp"}}, "md": {{"key": "{base}/md.webp", "width": 1024, '
    '"height": 768, "size": 40960, "content_type": "image/webp"}}, "lg": {{"key": '
    '"{base}/lg.webp", "width": 2048, "height": 1536, "size": 81920, "content_type": '
    '"image/webp"}}}}'
)


def fast_rows(
    owner: uuid.UUID, start: int, stop: int, *, sqlite: bool
) -> Iterator[tuple[Any, ...]]:
    """The rows of :func:`_image_values` in ``COLUMNS`` order, built with string templates
    (about 5x faster: seeding 1M rows is mostly this loop). SQLite values are in storage
    format (GUIDs as 16 bytes, datetimes as text), PostgreSQL values are Python objects for
    asyncpg's binary COPY. The seeders check the first row against the slow path."""
    owner_value: Any = owner.bytes if sqlite else owner
    low = 0x5A1_0000_0000_0000 | owner.int & 0xFFFF
    epoch = int(NOW.timestamp())
    for i in range(start, stop):
        sha = f"{i:08x}" + "5a1o" * 14
        uid = uuid.UUID(int=(i << 64) | low)
        if sqlite:
            created: Any = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(epoch - i))
            taken: Any = time.strftime("%Y-%m-%d %H:%M:%S.000000", time.gmtime(epoch - i - 86400))
        else:
            created = NOW - dt.timedelta(seconds=i)
            taken = created - dt.timedelta(days=1)
        yield (
            uid.bytes if sqlite else uid, owner_value, f"IMG_{i:07d}", "image/jpeg",
            3_500_000 + i % 100_000, 4000, 3000, sha, f"originals/{owner}/{sha[:2]}/{sha}",
            taken, (1 if i % 10 == 0 else 0) if sqlite else i % 10 == 0,
            "1QcSHQRnh493V4dIh4eXh1h4kJUI",
            _RENDITIONS.format(base=f"renditions/{owner}/{sha[:2]}/{sha}"),
            f'{{"filename": "IMG_{i:07d}.jpg", "make": "SalonBench"}}', None, created, created,
        )  # fmt: skip


def _slow_row(owner: uuid.UUID, index: int, procs: Sequence[Any] | None) -> tuple[Any, ...]:
    values = _image_values(owner, index)
    json_cols = ("renditions", "meta")
    if procs is None:
        return tuple(values[c] for c in COLUMNS)
    return tuple(
        values[c] if (p is None or c in json_cols) else p(values[c])
        for c, p in zip(COLUMNS, procs, strict=True)
    )


def seed_sqlite(path: Path, owner: uuid.UUID, start: int, stop: int) -> float:
    """Insert rows ``start..stop`` with the stdlib driver, in the storage format SQLAlchemy's
    types write (checked against their bind processors on the first row, so reads round-trip)."""
    from salon.db.models import Image
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    procs = [Image.__table__.c[name].type._cached_bind_processor(dialect) for name in COLUMNS]
    first = next(fast_rows(owner, start, start + 1, sqlite=True))
    assert first == _slow_row(owner, start, procs), "fast_rows drifted from the models"
    sql = f"INSERT INTO images ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    t0 = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-200000")
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, fast_rows(owner, start, stop, sqlite=True))
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return time.perf_counter() - t0


async def seed_postgres(dsn: str, owner: uuid.UUID, start: int, stop: int) -> float:
    """Insert rows ``start..stop`` with ``COPY`` (asyncpg binary copy), then ANALYZE."""
    import asyncpg  # type: ignore[import-untyped]

    first = next(fast_rows(owner, start, start + 1, sqlite=False))
    assert first == _slow_row(owner, start, None), "fast_rows drifted from the models"
    t0 = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "images", records=fast_rows(owner, start, stop, sqlite=False), columns=list(COLUMNS)
        )
        await conn.execute("ANALYZE images")
    finally:
        await conn.close()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- query plans


def page_sql(
    dialect_name: str, owner: uuid.UUID, cursor: str | None = None
) -> tuple[str, list[Any]]:
    """The exact SQL ``list_page`` runs and its parameters, processed the way the driver gets
    them (GUIDs as 16 raw bytes on SQLite), for EXPLAIN."""
    from salon.domain.images.services import page_query
    from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
    from sqlalchemy.dialects.sqlite import pysqlite

    dialect = pysqlite.dialect() if dialect_name == "sqlite" else pg_asyncpg.dialect()
    compiled = page_query(owner, limit=50, cursor=cursor).compile(dialect=dialect)
    params = compiled.construct_params()
    procs = compiled._bind_processors
    names = compiled.positiontup or []
    values = [procs[k](params[k]) if k in procs else params[k] for k in names]
    return str(compiled), values


def explain_sqlite(path: Path, owner: uuid.UUID, cursor: str | None) -> str:
    conn = sqlite3.connect(path)
    try:
        sql, params = page_sql("sqlite", owner, cursor)
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return "\n".join(f"{r[3]}" for r in rows)
    finally:
        conn.close()


async def explain_postgres(dsn: str, owner: uuid.UUID, cursor: str | None) -> str:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        sql, params = page_sql("postgresql", owner, cursor)
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, *params)
        return "\n".join(r[0] for r in rows)
    finally:
        await conn.close()


# --------------------------------------------------------------------------- databases


@contextmanager
def postgres_database(admin: str) -> Iterator[str]:
    """A fresh database (dropped afterwards); yields its plain libpq DSN."""
    import asyncpg

    name = f"salon_bench_listing_{uuid.uuid4().hex[:8]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        drop_database(run, name)


def drop_database(run: Any, name: str) -> None:
    """Drop, retrying while autovacuum (started by the bulk load, and not ours to terminate)
    still works on it; a database that cannot be dropped is reported, not fatal."""
    for attempt in range(20):
        try:
            asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except Exception as exc:  # asyncpg raises several kinds here; all mean "not yet"
            if attempt == 19:
                print(f"listing: could not drop database {name}: {exc}", file=sys.stderr)
            time.sleep(1)


def _sqlalchemy_url(db: str, data: Path, dsn: str | None) -> str:
    if db == "sqlite":
        return f"sqlite+aiosqlite:///{data / 'salon.db'}"
    assert dsn is not None
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


# --------------------------------------------------------------------------- the run


def run_db(
    db: str, sizes: Sequence[int], seconds: float, bare_rps: dict[str, float], args: Any
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    notes: dict[str, Any] = {"db": db, "seed_seconds": {}, "plans": {}, "runs": {}}
    suffix = "_page_misses" if args.page_misses else ""
    # issue 19.2's target for uncached listing: page misses, or every cache off
    target_ratio = 0.10 if args.page_misses or args.read_cache_mb == 0 else 0.25
    with tempfile.TemporaryDirectory(prefix=f"salon-bench-listing-{db}-") as tmp:
        data = Path(tmp)
        dsn_cm = postgres_database(args.pg_admin) if db == "postgres" else _nullcm()
        with dsn_cm as dsn:
            url = _sqlalchemy_url(db, data, dsn)
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
                token = common.login(base)
                headers = {"Authorization": f"Bearer {token}"}
                import httpx

                me = httpx.get(f"{base}/api/me", headers=headers, timeout=30).json()
                owner = uuid.UUID(me["id"])
                done = 0
                results: dict[int, common.WrkResult] = {}
                for n in sizes:
                    if db == "sqlite":
                        took = seed_sqlite(data / "salon.db", owner, done, n)
                    else:
                        took = asyncio.run(seed_postgres(dsn or "", owner, done, n))
                    notes["seed_seconds"][n] = round(took, 1)
                    print(f"listing: {db} seeded {n} images ({took:.1f} s)", file=sys.stderr)
                    done = n
                    page = httpx.get(
                        f"{base}/api/images?limit=50", headers=headers, timeout=30
                    ).json()
                    assert len(page["items"]) == 50, page
                    cursor = page["next_cursor"]
                    if db == "sqlite":
                        plan = explain_sqlite(data / "salon.db", owner, cursor)
                    else:
                        plan = asyncio.run(explain_postgres(dsn or "", owner, cursor))
                    notes["plans"][n] = plan
                    if args.explain:
                        print(f"--- {db} {n} rows, page 2 (with cursor):\n{plan}", file=sys.stderr)
                    target = f"{base}/api/images?limit=50"
                    misses = args.page_misses
                    # warm-up: pool, caches (the token's and the user's with --page-misses)
                    warm = miss_script(data, f"{n}-warm") if misses else None
                    common.wrk(target, seconds=1, headers=headers, script=warm)
                    res = common.wrk(
                        target,
                        seconds=seconds,
                        headers=headers,
                        server_pids=server.pids(),
                        script=miss_script(data, str(n)) if misses else None,
                    )
                    if misses:
                        check_misses(res)
                    if res.non_2xx:
                        raise RuntimeError(f"{db} {n}: {res.non_2xx} responses were not 2xx")
                    if res.errors:  # socket timeouts happen on an overloaded machine: recorded
                        print(f"listing: {db} {n}: {res.errors} socket errors", file=sys.stderr)
                    results[n] = res
                    notes["runs"][n] = vars(res) | {"rps_per_cpu": res.rps_per_cpu}
                    label = _label(n) + suffix
                    rows += [
                        common.row(
                            f"listing.{db}.{label}.rps_vs_bare",
                            res.rps,
                            bare_rps["rps"],
                            target_ratio,
                            ">=",
                            "req/s (wall)",
                        ),
                        common.row(
                            f"listing.{db}.{label}.rps_vs_bare_cpu",
                            res.rps_per_cpu,
                            bare_rps["rps_per_cpu"],
                            target_ratio,
                            ">=",
                            "req per server CPU-s",
                        ),
                        common.row(
                            f"listing.{db}.{label}.p99",
                            res.p99_ms,
                            bare_rps["p99_ms"],
                            50.0,
                            "<",
                            "ms (wall)",
                            on="value",
                        ),
                    ]
                if len(sizes) > 1:
                    rows.append(size_row(db, sizes, results, suffix))
            notes["server_needed_sigkill"] = server.needed_sigkill
    return rows, notes


def size_row(
    db: str, sizes: Sequence[int], results: dict[int, common.WrkResult], suffix: str
) -> dict[str, Any]:
    """The largest size's req per server CPU-s against the smallest's (target >= 0.9)."""
    small, large = results[sizes[0]], results[sizes[-1]]
    return common.row(
        f"listing.{db}.{_label(sizes[-1])}_vs_{_label(sizes[0])}{suffix}",
        large.rps_per_cpu,
        small.rps_per_cpu,
        0.9,
        ">=",
        "req per server CPU-s",
    )


@contextmanager
def _nullcm() -> Iterator[None]:
    yield None


def listing_paths(limit: int, page_misses: bool, count: int) -> list[str]:
    """``count`` listing requests of ``limit`` images: all the same first page, or with
    ``page_misses`` each under a cursor of its own after the newest image (the same first
    page, under a key the page cache has never seen: every request a miss)."""
    plain = f"/api/images?limit={limit}"
    if not page_misses:
        return [plain] * count
    from salon.domain.images.cursor import encode_cursor

    after = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    return [f"{plain}&cursor={encode_cursor(after, uuid.uuid4())}" for _ in range(count)]


# Each of wrk's threads walks its own share of the paths (thread ``id`` of ``threads``).
_MISS_LUA = """
local paths, i, counter, threads = {}, 0, 0, %d
for line in io.lines("%s") do paths[#paths + 1] = line end
function setup(thread) thread:set("id", counter); counter = counter + 1 end
function request()
  i = i + 1
  return wrk.format(nil, paths[(id + threads * i) %% #paths + 1])
end
"""
MISS_PATHS = 100_000


def miss_script(data: Path, name: str, threads: int = 2, count: int = MISS_PATHS) -> Path:
    """A wrk script whose every request is a page-cache miss (:func:`listing_paths`), with
    paths of its own: a second run (after a warm-up) must not ask for pages the first one
    cached. ``count`` paths cover a run of fewer requests (:func:`check_misses`)."""
    paths = data / f"miss-paths-{name}.txt"
    paths.write_text("\n".join(listing_paths(50, True, count)) + "\n")
    script = data / f"misses-{name}.lua"
    script.write_text(_MISS_LUA % (threads, paths))
    return script


def check_misses(res: common.WrkResult, count: int = MISS_PATHS) -> None:
    """Refuse a page-miss run that came round to its first paths (those were cache hits)."""
    if res.requests >= count:
        raise RuntimeError(f"{res.requests} requests reused some of the {count} miss paths")


def _label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k"


def measure_bare(seconds: float) -> dict[str, float]:
    """The reference: bare Litestar on granian, same options as ``salon serve``."""
    port = common.free_port()
    argv = [
        common.VENV_BIN / "granian", "--interface", "asgi", "--factory", "--workers", "1",
        "--no-log", "--host", "127.0.0.1", "--port", str(port), "bare_app:create_app",
    ]  # fmt: skip
    with common.spawn(argv, ready_url=f"http://127.0.0.1:{port}/ready", cwd=HERE) as server:
        url = f"http://127.0.0.1:{port}/items"
        common.wrk(url, seconds=1)
        res = common.wrk(url, seconds=seconds, server_pids=server.pids())
    return {"rps": res.rps, "rps_per_cpu": res.rps_per_cpu, "p99_ms": res.p99_ms}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Salon listing benchmark", allow_abbrev=False)
    p.add_argument("--short", action="store_true", help="10k and 100k images, 5 s runs")
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--sizes", type=int, nargs="+", help="image counts (ascending)")
    p.add_argument("--seconds", type=float, help="wrk duration per run (default 5 short, 15)")
    p.add_argument("--pg-admin", default=pg_admin_default())
    p.add_argument("--explain", action="store_true", help="print the query plans")
    p.add_argument("--json-notes", type=Path, help="write plans and raw runs to this file")
    p.add_argument(
        "--read-cache-mb",
        type=int,
        default=32,
        help="SALON_READ_CACHE_MB for the server; 0 measures every request going to the database",
    )
    p.add_argument(
        "--page-misses",
        action="store_true",
        help="every request a page-cache miss with the token and user cached (each under a "
        "cursor of its own after the newest image: the first page, under a new key); figures "
        "named listing.<db>.<n>_page_misses.*",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = args.sizes or ([10_000, 100_000] if args.short else [10_000, 1_000_000])
    seconds = args.seconds or (5.0 if args.short else 15.0)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    env = common.environment()
    print(f"listing: {json.dumps(env)}", file=sys.stderr)
    if note := common.busy_note():
        print(f"listing: {note}", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for db in dbs:
        bare = measure_bare(seconds)  # just before each database, so both see similar load
        print(f"listing: bare reference {bare}", file=sys.stderr)
        if db == "postgres" and not _postgres_up(args.pg_admin):
            print("listing: PostgreSQL not reachable; skipped (see README)", file=sys.stderr)
            continue
        r, n = run_db(db, sizes, seconds, bare, args)
        rows += r
        notes.append(n | {"bare": bare})
    if args.short:
        for r in rows:
            r["note"] = f"--short: {sizes} images"
    common.print_rows(rows)
    if args.json_notes:
        args.json_notes.write_text(json.dumps({"env": env, "dbs": notes}, indent=2, default=str))
    return 0


def _postgres_up(admin: str) -> bool:
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(admin, timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError):
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
