"""Honest clients beside hostile ones, against a real ``salon serve`` on 127.0.0.1 (issue 17).

    .venv/bin/python benchmarks/load/hostile_load.py --seconds 60 --connections 64   # long form
    .venv/bin/python benchmarks/load/hostile_load.py --seconds 8 --connections 8 \\
        --setting BODY_READ_TIMEOUT=2                                             # short form

While ``--connections`` honest clients (one keep-alive connection each, 4 per account) read
(list, one image, a rendition through its signed URL, /api/me) and sometimes upload a small
photo, these attackers run at the same time, each in a loop until the end:

- ``--slow`` slow uploaders: a multipart upload that sends one byte a second, until the server
  cuts it (408), then again (one upload intent each, 4 per attacker account);
- ``--huge`` anonymous huge bodies: 48 MiB of chunked JSON to ``/api/auth/login`` (413 after
  64 KiB) alternating with a declared 150 MiB ``Content-Length`` (413 unread);
- ``--bombs`` pixel bombs: a 9999x9999 1-bit PNG of about 130 KB (decoded: 100 MP) and a 12
  KiB one (refused by the pixels-per-byte bound), alternately;
- ``--logins`` log-in flooders: wrong passwords as fast as answers come (401, or 429 once the
  password-hashing allowance is full).

Reported: the honest clients' errors (any answer but the expected one, or a transport error)
and latency (p50/p99 over all their requests), what each attack got back, and the server's RSS
(process tree, sampled every 0.25 s). ``--setting NAME=VALUE`` passes ``SALON_NAME`` to the
server. Exits 1 when an honest request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import random
import secrets
import shutil
import struct
import sys
import tempfile
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from load_test import (  # the script's folder is on sys.path, not a package
    PASSWORD,
    distinct_jpeg,
    percentile,
    salon_server,
    tree_cpu_seconds,
    tree_pids,
    tree_rss_kib,
)

MiB = 1 << 20
SIDE = 9999
BOUNDARY = "hostileb0undary"


@dataclass
class Account:
    email: str
    headers: dict[str, str]
    image_ids: list[str] = field(default_factory=list)  # ready: their renditions exist
    pending: list[str] = field(default_factory=list)  # uploaded, renditions still being made


@dataclass
class Tally:
    honest: Counter[str] = field(default_factory=Counter)
    honest_errors: list[str] = field(default_factory=list)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    attacks: dict[str, Counter[str]] = field(default_factory=dict)

    def attack(self, kind: str, outcome: str) -> None:
        self.attacks.setdefault(kind, Counter())[outcome] += 1


async def account(client: httpx.AsyncClient, name: str) -> Account:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    body = {"email": email, "password": PASSWORD}
    created = await client.post("/api/auth/signup", json=body)
    created.raise_for_status()
    login = await client.post("/api/auth/login", json=body)
    login.raise_for_status()
    return Account(email, {"Authorization": f"Bearer {login.json()['access_token']}"})


# --------------------------------------------------------------------------- honest clients


async def honest_request(client: httpx.AsyncClient, user: Account, tally: Tally) -> None:
    if not (user.image_ids or user.pending) or random.random() < 0.05:
        op, expected = "upload", 201
        started = time.perf_counter()
        files = {"file": ("honest.jpg", distinct_jpeg(), "image/jpeg")}
        # As the gallery does: the upload is answered once the original is stored, and the
        # client asks for renditions only after the image says it is ready.
        response = await client.post("/api/images", files=files, headers=user.headers)
        if response.status_code == 201:
            body = response.json()
            ids = user.image_ids if body.get("status") == "ready" else user.pending
            ids.append(body["id"])
    elif user.pending and (not user.image_ids or random.random() < 0.25):
        op, expected = "image", 200
        image_id = user.pending[0]
        started = time.perf_counter()
        response = await client.get(f"/api/images/{image_id}", headers=user.headers)
        ready = response.status_code == 200 and response.json().get("status") == "ready"
        # Four connections share an account: another may have moved it already.
        if ready and image_id in user.pending:
            user.pending.remove(image_id)
            user.image_ids.append(image_id)
    else:
        image_id = random.choice(user.image_ids)
        op, url = random.choice(
            [
                ("list", "/api/images?limit=50"),
                ("image", f"/api/images/{image_id}"),
                ("rendition", f"/api/images/{image_id}/renditions/sm"),
                ("me", "/api/me"),
            ]
        )
        expected = 200
        started = time.perf_counter()
        response = await client.get(url, headers=user.headers, follow_redirects=True)
        await response.aread()
    tally.latencies.setdefault(op, []).append(time.perf_counter() - started)
    tally.honest[f"{op} {response.status_code}"] += 1
    if response.status_code != expected:
        tally.honest_errors.append(f"{op} {response.status_code}: {response.text[:160]}")


async def honest_loop(base_url: str, user: Account, deadline: float, tally: Tally) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        while time.monotonic() < deadline:
            try:
                await honest_request(client, user, tally)
            except httpx.HTTPError as exc:
                tally.honest["transport-error"] += 1
                tally.honest_errors.append(f"transport: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- attackers


async def _open(base_url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    return reader, writer, f"{host}:{port}"


async def _status(reader: asyncio.StreamReader, timeout: float) -> str:
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except TimeoutError:
        return "no answer"
    except ConnectionError:
        return "reset"
    parts = line.split()
    return parts[1].decode() if len(parts) > 1 else "closed"


async def slow_upload(base_url: str, path: str, auth: dict[str, str], deadline: float) -> str:
    """One upload that drips a byte a second; the server's answer (or what ended it)."""
    reader, writer, host = await _open(base_url)
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="s.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{_auth_header(auth)}"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(head) + MiB}\r\n\r\n"
    ).encode()
    try:
        writer.write(request + head)
        answer = asyncio.create_task(_status(reader, 3600))
        while not answer.done() and time.monotonic() < deadline:
            writer.write(b"\xff")
            await writer.drain()
            await asyncio.sleep(1.0)
        return await answer if answer.done() else "ended by the test"
    except ConnectionError:
        return "reset"
    finally:
        writer.close()


def _auth_header(auth: dict[str, str]) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in auth.items())


async def slow_loop(base_url: str, user: Account, deadline: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        while time.monotonic() < deadline:
            intent = await client.post(
                "/api/uploads",
                json={"filename": "s.jpg", "content_type": "image/jpeg", "size": MiB},
                headers=user.headers,
            )
            if intent.status_code != 201:
                tally.attack("slow upload", f"intent {intent.status_code}")
                await asyncio.sleep(1)
                continue
            path = f"/api/uploads/{intent.json()['upload_id']}/file"
            tally.attack("slow upload", await slow_upload(base_url, path, user.headers, deadline))


async def huge_body(base_url: str, chunked: bool) -> str:
    reader, writer, host = await _open(base_url)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {150 * MiB}"
    writer.write(
        f"POST /api/auth/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"{framing}\r\n\r\n".encode()
    )
    answer = asyncio.create_task(_status(reader, 60))
    chunk = b"%x\r\n" % MiB + b"x" * MiB + b"\r\n"
    try:
        for _ in range(48 if chunked else 0):
            if answer.done():
                break
            writer.write(chunk)
            await writer.drain()
        return await answer
    except ConnectionError:
        return "reset"
    finally:
        answer.cancel()
        writer.close()


async def huge_loop(base_url: str, deadline: float, tally: Tally) -> None:
    chunked = False
    while time.monotonic() < deadline:
        chunked = not chunked
        outcome = await huge_body(base_url, chunked)
        tally.attack("huge body", f"{'chunked' if chunked else 'declared'} {outcome}")


def bomb(dense: bool) -> bytes:
    im = Image.new("1", (SIDE, SIDE), 1)
    if dense:  # a noisy band: enough bytes to pass the pixels-per-byte bound, so it is decoded
        im.paste(Image.frombytes("1", (SIDE, 96), os.urandom(SIDE * 12 + 96)), (0, 0))
    buffer = io.BytesIO()
    im.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def renamed(png: bytes) -> bytes:
    """The same picture with a random text chunk before IEND: new bytes, so the server
    decodes it again instead of finding it already stored."""
    text = b"k\0" + secrets.token_hex(8).encode()
    chunk = struct.pack(">I", len(text)) + b"tEXt" + text
    chunk += struct.pack(">I", zlib.crc32(b"tEXt" + text))
    return png[:-12] + chunk + png[-12:]


async def bomb_loop(
    base_url: str, user: Account, bombs: dict[bool, bytes], deadline: float, tally: Tally
) -> None:
    dense = False
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        while time.monotonic() < deadline:
            dense = not dense
            files = {"file": ("bomb.png", renamed(bombs[dense]), "image/png")}
            try:
                answer = await client.post("/api/images", files=files, headers=user.headers)
                outcome = str(answer.status_code)
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            tally.attack("pixel bomb", f"{'dense' if dense else 'tiny'} {outcome}")


async def login_loop(base_url: str, deadline: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        while time.monotonic() < deadline:
            body = {"email": f"victim-{random.randrange(99)}@example.com", "password": "guess"}
            try:
                answer = await client.post("/api/auth/login", json=body)
                tally.attack("login flood", str(answer.status_code))
            except httpx.HTTPError as exc:
                tally.attack("login flood", type(exc).__name__)


# --------------------------------------------------------------------------- the run


def thread_ticks(pid: int) -> dict[tuple[int, int], tuple[int, int]]:
    """(process, thread) -> (CPU ticks so far, nice) for every thread of the server's
    processes whose nice is 0 at the process level (the web side; media workers are niced)."""
    found: dict[tuple[int, int], tuple[int, int]] = {}
    for process in tree_pids(pid):
        for task in Path(f"/proc/{process}/task").glob("*"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                found[process, int(task.name)] = (
                    int(fields[11]) + int(fields[12]),
                    int(fields[16]),
                )
    return found


def process_ticks(pid: int) -> dict[int, int]:
    """Process -> CPU ticks so far (its ended threads included)."""
    found = {}
    for process in tree_pids(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            found[process] = int(fields[11]) + int(fields[12])
    return found


@dataclass
class ThreadCpu:
    """Per-thread CPU of the server during the load, from /proc/PID/task/*/stat, sampled
    with the RSS so that short-lived threads (argon2's lanes) count with their last value."""

    before: dict[tuple[int, int], tuple[int, int]]
    processes_before: dict[int, int]
    last: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    processes: dict[int, int] = field(default_factory=dict)

    def sample(self, pid: int) -> None:
        self.last.update(thread_ticks(pid))
        self.processes.update(process_ticks(pid))

    def report(self, media_pids: set[int]) -> dict[str, Any]:
        """Seconds per thread of the web process(es): the main thread (granian runs the
        event loop there), niced threads (password hashing), and the busiest others."""
        tick = os.sysconf("SC_CLK_TCK")
        spent: Counter[str] = Counter()
        others: dict[str, float] = {}
        for (process, tid), (ticks, nice) in self.last.items():
            if process in media_pids:
                continue
            seconds = (ticks - self.before.get((process, tid), (0, 0))[0]) / tick
            if tid == process:
                spent[f"main thread of {process}"] += seconds
            elif nice > 0:
                spent[f"niced threads (nice {nice})"] += seconds
            else:
                spent["other threads"] += seconds
                others[f"{process}/{tid}"] = seconds
        for process, ticks in self.processes.items():
            if process not in media_pids:
                seconds = (ticks - self.processes_before.get(process, 0)) / tick
                seen = sum(
                    (t - self.before.get(key, (0, 0))[0]) / tick
                    for key, (t, _) in self.last.items()
                    if key[0] == process
                )
                # Threads that started and ended between two samples (argon2's lanes).
                spent[f"unsampled threads of {process}"] += seconds - seen
        busiest = sorted(others.items(), key=lambda item: -item[1])[:6]
        return {
            **{k: round(v, 1) for k, v in spent.items() if round(v, 1)},
            "busiest other threads": {k: round(v, 1) for k, v in busiest if v},
        }


def media_processes(pid: int) -> set[int]:
    """The niced media worker processes (process-level nice > 0)."""
    found = set()
    for process in tree_pids(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[16]) > 0:
                found.add(process)
    return found


async def sample_rss(pid: int, stop: asyncio.Event, samples: list[int], threads: ThreadCpu) -> None:
    while not stop.is_set():
        samples.append(tree_rss_kib(pid))
        threads.sample(pid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.25)


async def run(args: argparse.Namespace, base_url: str, pid: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        honest = [await account(client, f"honest{n}") for n in range(max(1, args.connections // 4))]
        slow = [await account(client, f"slow{n}") for n in range(-(-args.slow // 4))]
        bombers = [await account(client, f"bomber{n}") for n in range(args.bombs)]
    bombs = {dense: bomb(dense) for dense in (True, False)}
    tally = Tally()
    samples: list[int] = []
    stop = asyncio.Event()
    threads = ThreadCpu(thread_ticks(pid), process_ticks(pid))
    sampler = asyncio.create_task(sample_rss(pid, stop, samples, threads))
    await asyncio.sleep(0.5)
    baseline = samples[-1]
    load_before = os.getloadavg()
    cpu_before = tree_cpu_seconds(pid)
    own_before = time.process_time()
    started = time.monotonic()
    deadline = started + args.seconds
    attackers = [
        *(slow_loop(base_url, slow[n // 4], deadline, tally) for n in range(args.slow)),
        *(huge_loop(base_url, deadline, tally) for _ in range(args.huge)),
        *(bomb_loop(base_url, bombers[n], bombs, deadline, tally) for n in range(args.bombs)),
        *(login_loop(base_url, deadline, tally) for _ in range(args.logins)),
    ]
    honest_clients = [
        honest_loop(base_url, honest[n % len(honest)], deadline, tally)
        for n in range(args.connections)
    ]
    await asyncio.gather(*honest_clients, *attackers)
    elapsed = time.monotonic() - started
    cpu = {k: round(v - cpu_before[k], 1) for k, v in tree_cpu_seconds(pid).items()}
    cpu["load_generator"] = round(time.process_time() - own_before, 1)
    stop.set()
    await sampler
    threads.sample(pid)
    requests = sum(v for k, v in tally.honest.items() if k != "transport-error")
    every = [value for values in tally.latencies.values() for value in values]
    return {
        "seconds": round(elapsed, 1),
        "honest": {
            "connections": args.connections,
            "requests": requests,
            "requests_per_second": round(requests / elapsed, 1),
            "errors": len(tally.honest_errors),
            "first_errors": tally.honest_errors[:10],
            "p50_ms": round(percentile(every, 0.5) * 1000, 1),
            "p99_ms": round(percentile(every, 0.99) * 1000, 1),
            "p99_ms_by_operation": {
                op: round(percentile(values, 0.99) * 1000, 1)
                for op, values in sorted(tally.latencies.items())
            },
            "statuses": dict(tally.honest),
        },
        "attacks": {kind: dict(outcomes) for kind, outcomes in tally.attacks.items()},
        "attackers": {
            "slow": args.slow,
            "huge": args.huge,
            "bombs": args.bombs,
            "logins": args.logins,
        },
        "rss_mib": {
            "baseline": round(baseline / 1024, 1),
            "peak": round(max(samples) / 1024, 1),
            "end": round(samples[-1] / 1024, 1),
        },
        "cpu_seconds": cpu,
        "web_threads_cpu_seconds": threads.report(media_processes(pid)),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=64, help="honest connections")
    parser.add_argument("--slow", type=int, default=24, help="slow uploaders")
    parser.add_argument("--huge", type=int, default=4, help="anonymous huge-body senders")
    parser.add_argument("--bombs", type=int, default=2, help="pixel-bomb uploaders")
    parser.add_argument("--logins", type=int, default=8, help="log-in flooders")
    parser.add_argument(
        "--setting", action="append", default=[], help="NAME=VALUE for SALON_NAME (repeat)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary on one line")
    parser.add_argument("--server-log", type=Path, help="keep a copy of the server's log here")
    args = parser.parse_args()
    extra = {"SALON_" + k.upper(): v for k, _, v in (s.partition("=") for s in args.setting)}
    data_dir = Path(tempfile.mkdtemp(prefix="salon-hostile-"))
    try:
        with salon_server(data_dir, 1, extra) as (url, process, _env):
            result = asyncio.run(run(args, url, process.pid))
    finally:
        if args.server_log is not None and (data_dir / "server.log").exists():
            shutil.copyfile(data_dir / "server.log", args.server_log)
        shutil.rmtree(data_dir, ignore_errors=True)
    result["ok"] = result["honest"]["errors"] == 0
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
