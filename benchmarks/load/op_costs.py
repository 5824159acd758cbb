"""What one request of each kind costs the web process, in CPU, one request at a time.

    .venv/bin/python benchmarks/load/op_costs.py                       # 150 images, 600 each
    .venv/bin/python benchmarks/load/op_costs.py --setting read_cache_mb=0   # caches off

Starts ``salon serve`` (one granian worker) on a free port with a fresh data folder, signs up
one user, uploads ``--images`` distinct JPEGs, then sends ``--requests`` requests of each kind
one after the other (after a warm-up) and reports the web process's CPU (user + system, from
``/proc``, the niced media workers apart) per request: the list (cached, as a browser asks it
again), one image's JSON, a rendition and an original (each following its redirect to the
signed ``/media/`` URL, so two requests), ``/api/me`` and ``/health``.

Sequential requests measure each kind's own cost without the load generator's share of the
cores in the figure: issue 21's reads/uploads ratio is made of these costs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

# The script's folder (not a package): on sys.path when run, not when a test loads this file.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_test


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=150, help="images uploaded first")
    parser.add_argument("--requests", type=int, default=600, help="requests of each kind")
    parser.add_argument(
        "--setting", action="append", default=[], help="NAME=VALUE for SALON_NAME (repeat)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    extra = {"SALON_" + k.upper(): v for k, _, v in (s.partition("=") for s in args.setting)}
    data_dir = Path(tempfile.mkdtemp(prefix="salon-opcost-"))
    try:
        with load_test.salon_server(data_dir, 1, extra) as (url, process, _env):
            costs = measure(url, process.pid, args.images, args.requests)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps({"web_cpu_ms_per_request": costs, "images": args.images}, indent=2))
    return 0


def measure(url: str, server_pid: int, images: int, requests: int) -> dict[str, float]:
    with httpx.Client(base_url=url, timeout=60) as client:
        body = {"email": "op-costs@example.com", "password": load_test.PASSWORD}
        assert client.post("/api/auth/signup", json=body).status_code == 201
        token = client.post("/api/auth/login", json=body).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        ids = [_upload(client, headers) for _ in range(max(1, images))]
        _wait_ready(client, headers, len(ids))
        kinds: dict[str, Callable[[int], httpx.Response]] = {
            "list": lambda i: client.get("/api/images?limit=50", headers=headers),
            "image": lambda i: client.get(f"/api/images/{ids[i % len(ids)]}", headers=headers),
            "rendition": lambda i: client.get(
                f"/api/images/{ids[i % len(ids)]}/renditions/sm",
                headers=headers,
                follow_redirects=True,
            ),
            "original": lambda i: client.get(
                f"/api/images/{ids[i % len(ids)]}/original", headers=headers, follow_redirects=True
            ),
            "me": lambda i: client.get("/api/me", headers=headers),
            "health": lambda i: client.get("/health"),
        }
        return {name: _cost(send, server_pid, requests) for name, send in kinds.items()}


def _upload(client: httpx.Client, headers: dict[str, str]) -> str:
    files = {"file": ("op.jpg", load_test.make_jpeg(), "image/jpeg")}
    response = client.post("/api/images", files=files, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _wait_ready(client: httpx.Client, headers: dict[str, str], count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        page = client.get(f"/api/images?limit={min(200, count)}", headers=headers).json()
        if all(item.get("status", "ready") == "ready" for item in page["items"]):
            return
        time.sleep(0.2)
    raise RuntimeError("renditions were not made within 120 s")


def _cost(send: Callable[[int], httpx.Response], server_pid: int, requests: int) -> float:
    for i in range(min(50, requests)):  # warm-up: caches, pooled connections
        send(i)
    before = load_test.tree_cpu_seconds(server_pid)["web"]
    for i in range(requests):
        response = send(i)
        assert response.status_code == 200, response.text[:200]
    spent = load_test.tree_cpu_seconds(server_pid)["web"] - before
    return round(spent * 1000 / requests, 2)


if __name__ == "__main__":
    sys.exit(main())
