"""Issue 19.3: what one direct upload costs the server, on local storage and on LocalStack S3.

A throw-away ``salon serve`` (one granian worker, SQLite, renditions made in the web process) takes
``--uploads`` direct uploads of a 12 MP corpus JPEG (``benchmarks/corpus.py``), each made unique
by a few bytes after the JPEG's end (the sha256 differs; the pixels do not): announce
(``POST /api/uploads``), send the file (to the server on local storage, a presigned POST
straight into the bucket on S3), complete with ``?wait=true`` (until the renditions exist).

Around each upload the server's process tree is read from /proc: user+system CPU seconds
(``stat``) and bytes moved by file system calls (``io``: ``rchar``/``wchar``; ``write_bytes``:
what reached the disk's write-back). Socket reads and writes are not in ``io``: the server
runs with ``socket_counter/sitecustomize.py``, which counts what Python sockets receive and
send (``net_in``/``net_out``): on S3 that is the traffic to the bucket (granian's own HTTP is
not Python sockets, so the upload's request body is not in it). The tree is split into the
web process (granian and its worker: intake, requests) and the media workers
(``multiprocessing`` children: decode, resize, encode). Everything is per upload: bytes the
mean over ``--uploads`` (they do not vary), CPU the median. There is no reference run inside
this script: the figure before the change is this script run on the commit before it (see
benchmarks/README.md).

    .venv/bin/python benchmarks/intake/bench_intake.py [--uploads 5] [--storage local,s3]

S3 needs LocalStack (``salon.testing.localstack``: ``SALON_TEST_LOCALSTACK_URL`` or
``deploy/localstack/run.sh``); without it the S3 rows are skipped with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import common
import corpus

PASSWORD = "bench-password-123"
_IO_FIELDS = ("rchar", "wchar", "read_bytes", "write_bytes", "net_in", "net_out")
COUNTER = Path(__file__).resolve().parent / "socket_counter"


@dataclass
class Usage:
    """CPU seconds and I/O bytes of a group of processes."""

    cpu: float = 0.0
    rchar: int = 0
    wchar: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    net_in: int = 0
    net_out: int = 0

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.cpu - other.cpu,
            *(getattr(self, f) - getattr(other, f) for f in _IO_FIELDS),
        )


def _is_media_worker(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def _io(pid: int) -> dict[str, int]:
    with contextlib.suppress(OSError):
        lines = Path(f"/proc/{pid}/io").read_text().splitlines()
        pairs = (line.split(":", 1) for line in lines)
        return {k.strip(): int(v) for k, v in pairs if k.strip() in _IO_FIELDS}
    return {}


def _net(sockets: Path, pid: int) -> dict[str, int]:
    with contextlib.suppress(OSError, ValueError):
        received, sent = (sockets / str(pid)).read_text().split()
        return {"net_in": int(received), "net_out": int(sent)}
    return {}


def snapshot(root: int, sockets: Path) -> dict[int, tuple[bool, Usage]]:
    """Each process of the tree under ``root``: whether it is a media worker, and its usage
    (socket bytes as ``socket_counter`` last wrote them: wait 0.2 s for them to settle)."""
    time.sleep(0.2)
    out = {}
    for pid in [root, *common.descendants(root)]:
        usage = Usage(common.cpu_seconds([pid]), **_io(pid), **_net(sockets, pid))
        out[pid] = (_is_media_worker(pid), usage)
    return out


def delta(
    before: dict[int, tuple[bool, Usage]], after: dict[int, tuple[bool, Usage]]
) -> dict[str, Usage]:
    """Usage between two snapshots, summed per group (a process new since ``before`` counts
    whole; one that ended meanwhile is lost, which the pools here do not do)."""
    groups = {"web": Usage(), "media": Usage()}
    for pid, (media, now) in after.items():
        then = before.get(pid, (media, Usage()))[1]
        d = now - then
        g = groups["media" if media else "web"]
        for name in ("cpu", *_IO_FIELDS):
            setattr(g, name, getattr(g, name) + getattr(d, name))
    return groups


def unique_jpeg(base: bytes, n: int) -> bytes:
    # After the JPEG's end marker: decoders stop there, the sha256 changes.
    return base + f"salon-bench-intake-{n}-{os.urandom(8).hex()}".encode()


def direct_upload(api: Any, data: bytes) -> None:
    import httpx

    intent = api.post(
        "/api/uploads",
        json={"filename": "photo.jpg", "content_type": "image/jpeg", "size": len(data)},
    )
    intent.raise_for_status()
    body = intent.json()
    files = {"file": ("photo.jpg", data, "image/jpeg")}
    if body["url"].startswith("/"):
        sent = api.post(body["url"], files=files)
    else:
        sent = httpx.post(body["url"], data=body.get("fields", {}), files=files, timeout=120)
    if sent.status_code not in (200, 201, 204):
        raise RuntimeError(f"sending the file answered {sent.status_code}: {sent.text[:300]}")
    done = api.post(f"/api/uploads/{body['upload_id']}/complete", params={"wait": "true"})
    if done.status_code != 201 or done.json()["status"] != "ready":
        raise RuntimeError(f"completion answered {done.status_code}: {done.text[:300]}")


@contextlib.contextmanager
def localstack_env() -> Iterator[dict[str, str] | str]:
    """The settings pointing Salon's storage at a LocalStack bucket (renditions still made in
    the web process: no SQS), or why there is none."""
    from salon.testing.localstack import ensure_localstack, find_run_script

    handle, reason = ensure_localstack()
    script = find_run_script()
    if handle is None or script is None:
        yield reason or "deploy/localstack/run.sh not found"
        return
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALSTACK_", "SALON_"))}
    env["LOCALSTACK_EXTERNAL_URL"] = handle.endpoint_url
    result = subprocess.run(
        ["bash", str(script), "start"], env=env, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        yield f"run.sh start failed: {result.stderr[-500:]}"
        return
    exports = dict(
        line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines()
    )
    yield {k: v for k, v in exports.items() if not k.startswith(("SALON_QUEUE", "SALON_SQS"))}


def _each_upload(
    api: Any, image: bytes, uploads: int, root: int, sockets: Path
) -> Iterator[dict[int, tuple[bool, Usage]]]:
    """Upload ``uploads`` times; yields the snapshot taken before each, after it is done."""
    for n in range(uploads):
        body = unique_jpeg(image, n)
        before = snapshot(root, sockets)
        direct_upload(api, body)
        yield before


def measure(storage: str, extra_env: dict[str, str], image: bytes, uploads: int) -> dict[str, Any]:
    import httpx

    with tempfile.TemporaryDirectory(prefix="salon-bench-intake-") as tmp:
        data = Path(tmp)
        sockets = data / "sockets"
        sockets.mkdir()
        env = {
            **common.salon_env(data / "data"),
            **extra_env,
            "SALON_INPROCESS_WORKER": "true",
        }
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
        full_env.update(env)
        subprocess.run(
            [common.salon_bin(), "db", "upgrade"], env=full_env, check=True, capture_output=True
        )
        port = common.free_port()
        argv = [common.salon_bin(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        # spawn() merges os.environ: clear Salon's own settings there first.
        for key in [k for k in os.environ if k.startswith("SALON_")]:
            del os.environ[key]
        counted = {**env, "PYTHONPATH": str(COUNTER), "BENCH_SOCKET_DIR": str(sockets)}
        ready = f"http://127.0.0.1:{port}/ready"
        with common.spawn(argv, ready_url=ready, env=counted) as server:
            token = common.login(server.url, password=PASSWORD)
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=180) as api:
                direct_upload(api, unique_jpeg(image, -1))  # warm-up: pools, imports, caches
                runs = [
                    delta(before, snapshot(server.proc.pid, sockets))
                    for before in _each_upload(api, image, uploads, server.proc.pid, sockets)
                ]
    # Bytes are the same every time (the mean); CPU varies with the machine's load (the median).
    per = {
        group: {
            "cpu": statistics.median(run[group].cpu for run in runs),
            **{
                name: statistics.mean(getattr(run[group], name) for run in runs)
                for name in _IO_FIELDS
            },
        }
        for group in ("web", "media")
    }
    return {"storage": storage, "file_bytes": len(image), "uploads": uploads, **per}


def rows_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    size = result["file_bytes"]
    storage = result["storage"]
    web, media = result["web"], result["media"]
    common_extra = {"storage": storage, "file_bytes": size, "uploads": result["uploads"]}
    out = [
        common.row(
            f"direct_upload_{storage}_web_cpu_ms", web["cpu"] * 1000, 1, 0, ">=", "ms/upload",
            on="value", media_cpu_ms=round(media["cpu"] * 1000, 1), **common_extra,
        ),
    ]  # fmt: skip
    for name in _IO_FIELDS:
        out.append(
            common.row(
                f"direct_upload_{storage}_{name}_per_file",
                (web[name] + media[name]) / size, 1, 0, ">=", "file sizes/upload", on="value",
                web=round(web[name] / size, 2), media=round(media[name] / size, 2),
                **common_extra,
            )
        )  # fmt: skip
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--storage", default="local,s3", help="comma-separated: local, s3")
    parser.add_argument("--short", action="store_true", help="2 uploads per storage")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    uploads = 2 if args.short else args.uploads
    image = corpus.ensure_corpus(1)[0].read_bytes()
    rows: list[dict[str, Any]] = []
    for storage in args.storage.split(","):
        if storage == "local":
            rows += rows_of(measure("local", {}, image, uploads))
        elif storage == "s3":
            with localstack_env() as env:
                if isinstance(env, str):
                    print(f"S3 skipped: {env}", file=sys.stderr)
                    continue
                rows += rows_of(measure("s3", env, image, uploads))
        else:
            parser.error(f"unknown storage {storage!r}")
    common.print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
