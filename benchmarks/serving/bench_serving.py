"""Serving benchmark: a ~200 KB rendition from local storage, Salon against nginx, and the
server time of an S3 redirect.

Local storage. A throw-away ``salon serve`` (SQLite, local storage) gets one image row
(inserted with SQL) whose ``lg`` rendition is a real ~200 KB WebP written straight into its
storage folder. ``GET /api/images/{id}/renditions/lg`` (authenticated) answers 307 to a signed
``/media/...`` URL; that URL is what a browser then loads, and what wrk loads here: Salon
checks the HMAC and hands the file to granian with ``http.response.pathsend``. nginx 1.22 (one
worker, ``sendfile on``, the same file, started in the foreground with its own config on a
free port) is the reference. Runs alternate nginx / Salon (``--rounds``), each side's median
is reported, as wall-clock req/s and as req/s per server CPU second (``_cpu``), which the
other tenants of a busy machine disturb less. Target: ratio >= 0.8. The HTTP behaviour is
checked too (ETag, Last-Modified, Cache-Control immutable, 304 on revalidation, 403 on a
tampered URL); a failed check raises.

nginx in front (``serving.local.nginx_front_vs_nginx``). The production set-up for local
storage: nginx with the config ``salon nginx-config`` prints (deploy/nginx/salon.conf) checks the
signed link's ``m`` token with its ``secure_link`` module and sends the file itself; Salon only
makes the link. wrk loads the same signed URL through that nginx (same settings: one worker,
sendfile), against plain nginx serving the file. Target: ratio >= 0.8.

S3. ``serve_object`` (the handler's part after the access check: presign + 307) is timed
in-process against a moto server with the aws_storage plugin; target: median < 2 ms.

    .venv/bin/python benchmarks/serving/bench_serving.py [--short] [--skip-s3]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import statistics
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "listing"))
import bench_listing  # benchmarks/listing: the SQL seeding helper
import common  # benchmarks/common.py
import corpus  # benchmarks/corpus.py

TARGET = 0.8
S3_TARGET_MS = 2.0


def make_rendition(path: Path, target_bytes: int = 200_000) -> int:
    """A real WebP of about ``target_bytes`` from corpus photo 0 (deterministic)."""
    photo = corpus.make_photo(0, (1600, 1200))
    best = b""
    for quality in (90, 80, 70, 60, 50, 40):
        buf = io.BytesIO()
        photo.save(buf, "WEBP", quality=quality, method=4)
        best = buf.getvalue()
        if len(best) <= target_bytes * 1.15:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(best)
    return len(best)


NGINX_CONF = """
user root;
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    etag on;
    types {{ image/webp webp; }}
    client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
    uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ add_header Cache-Control "private, max-age=31536000, immutable"; }}
    }}
}}
"""


FRONT_CONF = """
user root;
worker_processes 1;
daemon off;
pid {tmp}/front.pid;
error_log {tmp}/front-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp};
    uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
    include {tmp}/salon-front.conf;
}}
"""


@contextmanager
def nginx_front(upstream: str, env: dict[str, str], tmp: Path) -> Iterator[common.Server]:
    """nginx with the config ``salon nginx-config`` renders, in front of ``upstream``."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = common.free_port()
    rendered = subprocess.run(
        [
            common.salon_bin(),
            "nginx-config",
            "--upstream",
            upstream,
            "--listen",
            f"127.0.0.1:{port}",
        ],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (tmp / "salon-front.conf").write_text(rendered)
    conf = tmp / "front.conf"
    conf.write_text(FRONT_CONF.format(tmp=tmp))
    with common.spawn(
        [binary, "-c", str(conf), "-e", str(tmp / "front-error.log")],
        ready_url=f"http://127.0.0.1:{port}/ready",  # proxied to Salon
        timeout=30,
    ) as server:
        server.url = f"http://127.0.0.1:{port}"
        yield server


@contextmanager
def nginx(root: Path, tmp: Path, probe: str) -> Iterator[common.Server]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        raise RuntimeError("nginx is not installed: apt-get install -y nginx-light")
    port = common.free_port()
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port, root=root))
    with common.spawn(
        [binary, "-c", str(conf), "-e", str(tmp / "nginx-error.log")],
        ready_url=f"http://127.0.0.1:{port}/{probe}",
        timeout=30,
    ) as server:
        server.url = f"http://127.0.0.1:{port}"
        yield server


def check_http(url: str, token: str = "s") -> dict[str, str]:
    """The caching contract of a media URL; raises AssertionError when it is broken."""
    import httpx

    r = httpx.get(url, timeout=30)
    assert r.status_code == 200, r.status_code
    for name in ("etag", "last-modified", "cache-control", "content-length"):
        assert name in r.headers, f"missing {name}"
    assert "immutable" in r.headers["cache-control"]
    again = httpx.get(url, headers={"if-none-match": r.headers["etag"]}, timeout=30)
    assert again.status_code == 304, again.status_code
    since = httpx.get(url, headers={"if-modified-since": r.headers["last-modified"]}, timeout=30)
    assert since.status_code == 304, since.status_code
    tampered = httpx.get(url.replace(f"&{token}=", f"&{token}=A"), timeout=30)
    assert tampered.status_code == 403, tampered.status_code
    return dict(r.headers)


def local_serving(rounds: int, seconds: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import httpx

    with tempfile.TemporaryDirectory(prefix="salon-bench-serving-") as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data"
        data.mkdir()
        db_url = f"sqlite+aiosqlite:///{data / 'salon.db'}"
        env = common.salon_env(data, db_url)
        subprocess.run(
            [common.salon_bin(), "db", "upgrade"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
        port = common.free_port()
        base = f"http://127.0.0.1:{port}"
        with common.spawn(
            [common.salon_bin(), "serve", "--port", str(port)], ready_url=f"{base}/ready", env=env
        ) as salon:
            token = common.login(base)
            auth = {"Authorization": f"Bearer {token}"}
            owner = uuid.UUID(httpx.get(f"{base}/api/me", headers=auth, timeout=30).json()["id"])
            bench_listing.seed_sqlite(data / "salon.db", owner, 0, 1)
            row = bench_listing._image_values(owner, 0)
            key = f"renditions/{owner}/{row['sha256'][:2]}/{row['sha256']}/lg.webp"
            size = make_rendition(data / "media" / key)
            image_id = row["id"]
            r = httpx.get(f"{base}/api/images/{image_id}/renditions/lg", headers=auth, timeout=30)
            assert r.status_code == 307, (r.status_code, r.text)
            media_url = base + r.headers["location"]
            headers = check_http(media_url)
            with (
                nginx(data / "media", tmp, key) as ng,
                nginx_front(f"127.0.0.1:{port}", env, tmp) as front,
            ):
                nginx_url = f"{ng.url}/{key}"
                front_url = front.url + media_url[len(base) :]
                front_headers = check_http(front_url, token="m")
                assert "accept-ranges" in front_headers, "the front nginx must send the file"
                same = httpx.get(nginx_url, timeout=30).content == httpx.get(media_url).content
                assert same, "nginx and Salon must serve the same bytes"
                same = httpx.get(front_url, timeout=30).content == httpx.get(media_url).content
                assert same, "nginx in front and Salon must serve the same bytes"
                common.wrk(nginx_url, seconds=1)
                common.wrk(media_url, seconds=1)
                common.wrk(front_url, seconds=1)
                runs: dict[str, list[common.WrkResult]] = {"nginx": [], "salon": [], "front": []}
                for i in range(rounds):
                    order = [
                        ("nginx", nginx_url, ng),
                        ("salon", media_url, salon),
                        ("front", front_url, front),
                    ]
                    for side, url, server in order if i % 2 == 0 else order[::-1]:
                        res = common.wrk(url, seconds=seconds, server_pids=server.pids())
                        if res.non_2xx:
                            raise RuntimeError(f"{side}: {res.non_2xx} responses were not 2xx")
                        runs[side].append(res)
                # the API hop (auth + database + signing) for context: no target of its own
                api = common.wrk(
                    f"{base}/api/images/{image_id}/renditions/lg",
                    seconds=seconds,
                    headers=auth,
                    server_pids=salon.pids(),
                )
            nginx_sigkill = ng.needed_sigkill or front.needed_sigkill
        salon_sigkill = salon.needed_sigkill

    def med(side: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in runs[side])

    rows = [
        common.row("serving.local.rps_vs_nginx", med("salon", "rps"), med("nginx", "rps"),
                   TARGET, ">=", "req/s (wall)"),
        common.row("serving.local.rps_vs_nginx_cpu", med("salon", "rps_per_cpu"),
                   med("nginx", "rps_per_cpu"), TARGET, ">=", "req per server CPU-s"),
        common.row("serving.local.nginx_front_vs_nginx", med("front", "rps"), med("nginx", "rps"),
                   TARGET, ">=", "req/s (wall)",
                   cpu_ratio=round(med("front", "rps_per_cpu") / med("nginx", "rps_per_cpu"), 3)),
    ]  # fmt: skip
    for r in rows:
        side = "front" if "front" in r["name"] else "salon"
        r["p99_ms"] = {side: med(side, "p99_ms"), "nginx": med("nginx", "p99_ms")}
    notes = {
        "file_bytes": size,
        "media_headers": {k: v for k, v in headers.items() if k != "date"},
        "front_headers": {k: v for k, v in front_headers.items() if k != "date"},
        "runs": {side: [vars(r) | {"rps_per_cpu": r.rps_per_cpu} for r in rs]
                 for side, rs in runs.items()},
        "api_redirect": vars(api) | {"rps_per_cpu": api.rps_per_cpu},
        "needed_sigkill": {"salon": salon_sigkill, "nginx": nginx_sigkill},
    }  # fmt: skip
    return rows, notes


# --------------------------------------------------------------------------- S3 redirect


async def _time_s3_redirect(iterations: int) -> dict[str, float]:
    from litestar import Request
    from salon.app import create_app
    from salon.domain.images.serving import serve_object

    tmp = Path(tempfile.mkdtemp(prefix="salon-bench-s3-"))
    env = {
        **common.salon_env(tmp, f"sqlite+aiosqlite:///{tmp / 'salon.db'}"),
        "SALON_STORAGE": "s3",
        "SALON_S3_BUCKET": "salon-bench",
    }
    try:
        app = create_app(environ=env)
        runtime = app.state.runtime
        key = f"renditions/{uuid.uuid4()}/ab/{'ab' * 32}/lg.webp"
        await runtime.storage.put(key, _one_chunk(b"x" * 1000), content_type="image/webp")
        scope: Any = {
            "type": "http", "method": "GET", "path": "/api/images/x/renditions/lg",
            "headers": [], "query_string": b"", "app": app, "litestar_app": app,
            "state": {}, "path_params": {},
        }  # fmt: skip
        request: Request[Any, Any, Any] = Request(scope)
        wall: list[float] = []
        cpu: list[float] = []
        for i in range(iterations + 20):
            c0, w0 = time.process_time(), time.perf_counter()
            response = await serve_object(
                request, runtime, key=key, content_type="image/webp", etag="e", filename=None
            )
            w, c = time.perf_counter() - w0, time.process_time() - c0
            assert response.status_code == 307
            if i >= 20:  # warm-up: client creation, credential lookup
                wall.append(w * 1000)
                cpu.append(c * 1000)
        await runtime.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    wall.sort()
    return {
        "median_ms": statistics.median(wall),
        "p99_ms": wall[int(len(wall) * 0.99) - 1],
        "cpu_median_ms": statistics.median(cpu),
    }


async def _one_chunk(data: bytes) -> Any:
    yield data


def s3_redirect(iterations: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from salon.testing.moto import FAKE_CREDENTIALS, moto_server

    saved = {k: os.environ.get(k) for k in [*FAKE_CREDENTIALS, "AWS_ENDPOINT_URL"]}
    with moto_server() as moto:
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_ENDPOINT_URL"] = moto.endpoint_url
        try:
            import boto3

            boto3.client("s3").create_bucket(Bucket="salon-bench")
            timing = asyncio.run(_time_s3_redirect(iterations))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    # CPU time is the server's own cost; wall time adds whatever the other tenants take.
    rows = [
        common.row("serving.s3.redirect_cpu_ms", timing["cpu_median_ms"], S3_TARGET_MS,
                   S3_TARGET_MS, "<", "ms CPU (median)", on="value"),
        common.row("serving.s3.redirect_wall_ms", timing["median_ms"], S3_TARGET_MS,
                   S3_TARGET_MS, "<", "ms wall (median)", on="value",
                   p99_ms=round(timing["p99_ms"], 3)),
    ]  # fmt: skip
    return rows, timing


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Salon serving benchmark", allow_abbrev=False)
    p.add_argument("--short", action="store_true", help="2 rounds of 5 s")
    p.add_argument("--rounds", type=int, help="alternating nginx/Salon rounds (default 2 / 3)")
    p.add_argument("--seconds", type=float, help="wrk duration per run (default 5 / 10)")
    p.add_argument("--skip-s3", action="store_true", help="no S3 redirect timing")
    p.add_argument("--s3-iterations", type=int, default=300)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rounds = args.rounds or (2 if args.short else 3)
    seconds = args.seconds or (5.0 if args.short else 10.0)
    print(f"serving: {common.environment()}", file=sys.stderr)
    if note := common.busy_note():
        print(f"serving: {note}", file=sys.stderr)
    rows, notes = local_serving(rounds, seconds)
    print(f"serving: {notes}", file=sys.stderr)
    if not args.skip_s3:
        s3_rows, timing = s3_redirect(args.s3_iterations)
        rows += s3_rows
        print(f"serving: s3 {timing}", file=sys.stderr)
    common.print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
