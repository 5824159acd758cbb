"""Issue 19.2: where the CPU of one uncached ``GET /api/images?limit=50`` goes.

The app runs in this process (no granian, no HTTP client: each request is one call of the
ASGI app with a hand-made scope), on SQLite, or on PostgreSQL with ``--pg-admin``/
``SALON_BENCH_PG_ADMIN``, with ``SALON_READ_CACHE_MB=0`` (every request authenticates, looks
the user up and lists from the database), or with ``--page-misses`` with the caches on and
every request a page-cache miss (each asks with a cursor of its own, after the newest image:
the first page under a key never seen; the token and the user come from their caches, as
they do while the user's own images change). One user with ``--images`` images (inserted with
SQL, as ``bench_listing.py`` does). After a warm-up it prints the CPU per request
(``time.process_time``, this process only: the figure other tenants disturb least) and, with
``--profile``, the top of a cProfile of the same requests.

    .venv/bin/python benchmarks/listing/profile_listing.py --requests 500 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from bench_listing import listing_paths, postgres_database, seed_postgres, seed_sqlite


async def call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Any:
    """One request through the ASGI app; returns (status, body)."""
    target, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": target, "raw_path": target.encode(),
        "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"127.0.0.1")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status, chunks = 0, []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def _json(app: Any, method: str, path: str, data: Any, headers: dict[str, str]) -> Any:
    body = json.dumps(data).encode()
    status, out = await call(
        app, method, path, {**headers, "content-type": "application/json"}, body
    )
    if status >= 400:
        raise RuntimeError(f"{method} {path}: {status} {out[:200]!r}")
    return json.loads(out)


async def run(args: argparse.Namespace, url: str, data: Path, dsn: str | None) -> None:
    from salon.app import create_app
    from salon.db.migrate import upgrade

    cache_mb = "32" if args.page_misses else "0"
    env = common.salon_env(data, url, SALON_READ_CACHE_MB=cache_mb, SALON_INPROCESS_WORKER="false")
    upgrade(url)
    app = create_app(environ=env)
    async with app.lifespan():
        account = {"email": "profile@example.com", "password": "profile-password-123"}
        await _json(app, "POST", "/api/auth/signup", account, {})
        tokens = await _json(app, "POST", "/api/auth/login", account, {})
        headers = {"authorization": f"Bearer {tokens['access_token']}"}
        _, me = await call(app, "GET", "/api/me", headers)
        owner = uuid.UUID(json.loads(me)["id"])
        if dsn is None:
            seed_sqlite(data / "salon.db", owner, 0, args.images)
        else:
            await seed_postgres(dsn, owner, 0, args.images)
        paths = listing_paths(args.limit, args.page_misses, 50 + args.requests)
        for path in paths[:50]:
            status, body = await call(app, "GET", path, headers)
            assert status == 200 and len(json.loads(body)["items"]) == args.limit, body[:200]
        profiler = cProfile.Profile() if args.profile else None
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for path in paths[50:]:
            await call(app, "GET", path, headers)
        if profiler is not None:
            profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    per = cpu / args.requests * 1000
    load = os.getloadavg()[0]
    print(
        json.dumps(
            {
                "db": "postgres" if dsn else "sqlite",
                "variant": "page-misses" if args.page_misses else "caches-off",
                "requests": args.requests,
                "limit": args.limit,
                "cpu_ms_per_request": round(per, 3),
                "wall_ms_per_request": round(wall / args.requests * 1000, 3),
                "profiled": bool(profiler),
                "loadavg_1m": round(load, 2),
            }
        )
    )
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats(args.sort)
        stats.print_stats(args.top)
        print(out.getvalue(), file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=50, help="page size (1: the fixed cost)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile (slower)")
    parser.add_argument("--top", type=int, default=30, help="profile rows to print")
    parser.add_argument("--sort", default="tottime", help="profile order (e.g. cumulative)")
    parser.add_argument(
        "--page-misses",
        action="store_true",
        help="caches on, every request a page-cache miss (default: every cache off)",
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-admin", default=os.environ.get("SALON_BENCH_PG_ADMIN", ""))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="salon-profile-listing-") as tmp:
        data = Path(tmp)
        if args.db == "sqlite":
            asyncio.run(run(args, f"sqlite+aiosqlite:///{data / 'salon.db'}", data, None))
            return 0
        with postgres_database(args.pg_admin) as dsn:
            url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
            asyncio.run(run(args, url, data, dsn))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
