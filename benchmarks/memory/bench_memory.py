"""Memory benchmark: peak RSS growth of ``salon serve`` during a 500 MB upload and a 1 GB
download. Target: under 64 MB each.

The server's processes (granian's main process and its worker) are sampled every 20 ms from
/proc/<pid>/status (VmRSS); the figure is the largest sum seen minus the sum just before the
transfer. VmHWM (the kernel's own peak) is recorded beside it.

- Upload: ``POST /api/images`` with a multipart body streamed from a generator by httpx
  (chunked transfer, never in the client's memory either). The file part is 500 MB of
  non-image bytes, so after spooling and hashing it the server refuses it with 415: the
  streaming path (multipart parser, spool to disk, sha256) is what the figure measures, which
  is the same for a valid image up to the point of decoding (decoding is bounded separately by
  ``max_pixels``). ``SALON_MAX_UPLOAD_BYTES`` is raised to 600 MB for the run.
- Download: a 1 GiB object (a sparse file: no disk space, same bytes path) is put straight into
  local storage under the original key of an image row inserted with SQL, and fetched through
  ``GET /api/images/{id}/original``, in both download modes: ``redirect`` (the default: 307 to
  a signed /media/ URL that granian sends with pathsend) and ``proxy`` (Litestar's ``File``
  streams it through Python).

    .venv/bin/python benchmarks/memory/bench_memory.py [--upload-mb 500] [--download-mb 1024]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
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

LIMIT_MB = 64.0
MB = 1 << 20


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler:
    """Samples the summed VmRSS of a process tree in a thread."""

    def __init__(self, pids: Sequence[int], interval: float = 0.02) -> None:
        self.pids = list(pids)
        self.interval = interval
        self.baseline = self._rss()
        self.hwm_before = sum(_status_kb(p, "VmHWM") for p in self.pids)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        return sum(_status_kb(p, "VmRSS") for p in self.pids)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.hwm_after = sum(_status_kb(p, "VmHWM") for p in self.pids)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1024

    @property
    def hwm_growth_mb(self) -> float:
        return max(0, self.hwm_after - self.hwm_before) / 1024


def multipart_body(boundary: str, size: int, chunk: int = MB) -> Iterator[bytes]:
    """A multipart/form-data body with a ``size``-byte ``file`` part, made on the fly."""
    yield (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="title"\r\n\r\nbig\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = bytes(range(256)) * (chunk // 256)
    sent = 0
    while sent < size:
        piece = block[: min(chunk, size - sent)]
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


@contextmanager
def salon(data: Path, **env_extra: str) -> Iterator[tuple[common.Server, dict[str, str], str]]:
    db_url = f"sqlite+aiosqlite:///{data / 'salon.db'}"
    env = common.salon_env(data, db_url, **env_extra)
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
    ) as server:
        token = common.login(base)
        yield server, {"Authorization": f"Bearer {token}"}, base


def upload(size_mb: int) -> dict[str, Any]:
    import httpx

    with tempfile.TemporaryDirectory(prefix="salon-bench-memory-") as tmp:
        limit = str((size_mb + 100) * MB)
        with salon(Path(tmp), SALON_MAX_UPLOAD_BYTES=limit) as (server, auth, base):
            boundary = uuid.uuid4().hex
            headers = {**auth, "content-type": f"multipart/form-data; boundary={boundary}"}
            t0 = time.perf_counter()
            with RssSampler(server.pids()) as rss:
                r = httpx.post(
                    f"{base}/api/images",
                    content=multipart_body(boundary, size_mb * MB),
                    headers=headers,
                    timeout=600,
                )
            seconds = time.perf_counter() - t0
            assert r.status_code == 415, (r.status_code, r.text[:300])
            spool = list((Path(tmp) / "tmp").glob("*")) if (Path(tmp) / "tmp").exists() else []
            return {
                "status": r.status_code,
                "seconds": round(seconds, 1),
                "growth_mb": round(rss.growth_mb, 1),
                "hwm_growth_mb": round(rss.hwm_growth_mb, 1),
                "baseline_mb": round(rss.baseline / 1024, 1),
                "left_behind": [p.name for p in spool],
            }


def download(size_mb: int, mode: str) -> dict[str, Any]:
    import httpx

    with tempfile.TemporaryDirectory(prefix="salon-bench-memory-") as tmp:
        data = Path(tmp)
        with salon(data, SALON_DOWNLOAD_MODE=mode) as (server, auth, base):
            owner = uuid.UUID(httpx.get(f"{base}/api/me", headers=auth, timeout=30).json()["id"])
            bench_listing.seed_sqlite(data / "salon.db", owner, 0, 1)
            row = bench_listing._image_values(owner, 0)
            path = data / "media" / row["storage_key"]
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                fh.truncate(size_mb * MB)  # sparse: the bytes path without the disk writes
            received = 0
            t0 = time.perf_counter()
            with (
                RssSampler(server.pids()) as rss,
                httpx.Client(timeout=600, follow_redirects=True) as client,
                client.stream("GET", f"{base}/api/images/{row['id']}/original", headers=auth) as r,
            ):
                assert r.status_code == 200, r.status_code
                for chunk in r.iter_raw(1 << 20):
                    received += len(chunk)
            seconds = time.perf_counter() - t0
            assert received == size_mb * MB, received
            return {
                "mode": mode,
                "bytes": received,
                "seconds": round(seconds, 1),
                "growth_mb": round(rss.growth_mb, 1),
                "hwm_growth_mb": round(rss.hwm_growth_mb, 1),
                "baseline_mb": round(rss.baseline / 1024, 1),
            }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Salon memory benchmark", allow_abbrev=False)
    p.add_argument("--short", action="store_true", help="the same sizes (they are the target)")
    p.add_argument("--upload-mb", type=int, default=500)
    p.add_argument("--download-mb", type=int, default=1024)
    p.add_argument("--modes", nargs="+", default=["redirect", "proxy"])
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    print(f"memory: {common.environment()}", file=sys.stderr)
    rows = []
    up = upload(args.upload_mb)
    print(f"memory: upload {up}", file=sys.stderr)
    rows.append(
        common.row(f"memory.upload_{args.upload_mb}mb", up["growth_mb"], LIMIT_MB, LIMIT_MB,
                   "<", "MB peak RSS growth", on="value", **up)
    )  # fmt: skip
    for mode in args.modes:
        down = download(args.download_mb, mode)
        print(f"memory: download {down}", file=sys.stderr)
        rows.append(
            common.row(f"memory.download_{args.download_mb}mb_{mode}", down["growth_mb"],
                       LIMIT_MB, LIMIT_MB, "<", "MB peak RSS growth", on="value", **down)
        )  # fmt: skip
    common.print_rows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
