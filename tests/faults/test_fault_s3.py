"""S3 answering 5xx or not answering at all, with the app on the S3 backend (moto server).

A small forwarding proxy sits between the app and moto: in ``pass`` mode it relays requests,
in ``error`` mode it answers S3's ``500 InternalError``, in ``hang`` mode it holds the request
past the client's read timeout. botocore retries (the backend's ``SALON_S3_MAX_ATTEMPTS``),
then the backend raises StorageError and the API answers 503. Nothing is half-stored, and once
the proxy relays again the same app uploads and serves without a restart.
"""

from __future__ import annotations

import http.client
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from faults_support import assert_nothing_lost, distinct_jpeg
from salon.testing.fixtures import RunningApp, running_app
from salon.testing.moto import FAKE_CREDENTIALS, MotoServer, start_moto_server

MAX_ATTEMPTS = 3
READ_TIMEOUT = 1.0
S3_500 = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
    b"<Message>We encountered an internal error. Please try again.</Message></Error>"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


@dataclass
class FaultyProxy:
    upstream_port: int
    mode: str = "pass"
    refused: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _handler(proxy: FaultyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def _relay(self) -> None:
            body = self._body()
            mode = proxy.mode
            if mode != "pass":
                proxy.refused.append(f"{self.command} {self.path}")
            if mode == "hang":
                time.sleep(READ_TIMEOUT * 2.5)
                self.close_connection = True
                return
            if mode == "error":
                self.send_response(500)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(S3_500)))
                self.end_headers()
                self.wfile.write(S3_500)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            headers.pop("Expect", None)
            upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=30)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                # A HEAD answer has no body but the object's length (salon doctor checks it).
                length = answer.getheader("content-length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            finally:
                upstream.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

    return Handler


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    server = start_moto_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultyProxy]:
    faulty = FaultyProxy(upstream_port=moto.port)
    faulty.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(faulty))
    faulty.server.daemon_threads = True
    thread = threading.Thread(target=faulty.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield faulty
    finally:
        faulty.server.shutdown()
        faulty.server.server_close()


@pytest.fixture
async def s3_app(
    tmp_path: Path, moto: MotoServer, proxy: FaultyProxy, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningApp]:
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", proxy.url)
    bucket = f"faults-{uuid.uuid4().hex[:10]}"
    boto3.session.Session(region_name="us-east-1").client(
        "s3", endpoint_url=moto.endpoint_url
    ).create_bucket(Bucket=bucket)
    env = {
        "SALON_STORAGE": "s3",
        "SALON_S3_BUCKET": bucket,
        "SALON_S3_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "SALON_S3_READ_TIMEOUT": str(READ_TIMEOUT),
        "SALON_S3_CONNECT_TIMEOUT": "1",
        "SALON_S3_SSE": "none",
        # Bytes through the app, so reads hit S3 (and its faults) instead of a redirect.
        "SALON_DOWNLOAD_MODE": "proxy",
        "SALON_INPROCESS_WORKER": "false",
    }
    async with running_app(tmp_path / "data", env=env) as app:
        yield app


@pytest.mark.parametrize("mode", ["error", "hang"])
async def test_s3_failure_is_retried_then_503_and_recovers(
    s3_app: RunningApp, proxy: FaultyProxy, mode: str
) -> None:
    headers = await s3_app.login()
    data = distinct_jpeg()
    first = await s3_app.upload(headers, data)
    assert first.status_code == 201, first.text
    original_url = f"/api/images/{first.json()['id']}/original"

    proxy.mode = mode
    started = time.monotonic()
    response = await s3_app.upload(headers, distinct_jpeg())
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert "storage" in response.json()["detail"]
    # botocore's standard retries: every attempt reached "S3", then the backend gave up.
    assert len(proxy.refused) == MAX_ATTEMPTS, proxy.refused
    assert all(r.startswith("PUT ") for r in proxy.refused), proxy.refused
    assert elapsed < 60
    proxy.refused.clear()
    read = await s3_app.client.get(original_url, headers=headers)
    assert read.status_code == 503, read.text
    assert len(proxy.refused) == MAX_ATTEMPTS

    proxy.mode = "pass"
    await assert_nothing_lost(s3_app, images=1)
    assert (await s3_app.client.get(original_url, headers=headers)).content == data
    again = await s3_app.upload(headers, distinct_jpeg())
    assert again.status_code == 201, again.text
    await assert_nothing_lost(s3_app, images=2)
