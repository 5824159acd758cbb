"""The image URL comes from the API's answer, so it is not trusted: only https, only allowed
hosts, only public addresses, checked again on every redirect. Real HTTP servers on 127.0.0.1:
the fake API (whose own origin is trusted, being the configured base URL) and a bystander
server standing in for anything on the machine or network that must not be reached."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from salon.errors import SourceError
from salon.providers import SourceEntry
from salon_nasa_apod import ApodSettings, ApodSource
from salon_nasa_apod.fetch_policy import FetchPolicy, RefusedURL
from salon_nasa_apod.testing import FakeApodServer

MakeSource = Callable[..., ApodSource]


class Bystander:
    """An HTTP server that counts the requests it gets (it should get none)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "6")
                self.end_headers()
                self.wfile.write(b"secret")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def bystander() -> Iterator[Bystander]:
    server = Bystander()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _entry(url: str) -> SourceEntry:
    return SourceEntry(external_id="2024-03-01", title="x", media_type="image", image_url=url)


async def _download(source: ApodSource, url: str) -> bytes:
    return b"".join([chunk async for chunk in source.download(_entry(url))])


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/latest/meta-data/",  # plain http to loopback
        "https://127.0.0.1:{port}/x.jpg",  # https, but not an allowed host
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]:{port}/x.jpg",
    ],
)
async def test_a_redirect_off_the_api_to_a_local_address_is_not_followed(
    make_source: MakeSource, fake: FakeApodServer, bystander: Bystander, target: str
) -> None:
    fake.redirects["evil"] = target.format(port=bystander.port)
    source = make_source()
    with pytest.raises(SourceError, match="image not fetched"):
        await _download(source, f"{fake.origin}/redirect/evil")
    assert bystander.hits == []
    assert [seen.path for seen in fake.requests] == ["/redirect/evil"]


async def test_allowed_hosts_are_still_checked_for_their_address(
    make_source: MakeSource, fake: FakeApodServer, bystander: Bystander
) -> None:
    """Even an allowed name is refused when it resolves to a loopback or link-local address
    (a hostile DNS answer): here "localhost" and a link-local literal are allowed hosts."""
    source = make_source(image_hosts="apod.nasa.gov,localhost,169.254.169.254")
    for target in (f"https://localhost:{bystander.port}/x.jpg", "https://169.254.169.254/"):
        fake.redirects["evil"] = target
        with pytest.raises(SourceError, match="non-public address"):
            await _download(source, f"{fake.origin}/redirect/evil")
    assert bystander.hits == []


async def test_with_nasas_api_configured_nothing_local_is_fetched(
    fake: FakeApodServer, bystander: Bystander, tmp_path: Any
) -> None:
    """The default base URL (NASA's): the image URL itself must pass, https and allow-list."""
    source = ApodSource(ApodSettings(api_key="k"), tmp_path / "cache")
    try:
        for url in (
            fake.image_url("2024-03-01"),  # http, loopback
            f"http://127.0.0.1:{bystander.port}/x.jpg",
            "http://apod.nasa.gov/apod/image/2403/x.jpg",  # an allowed host, but plain http
            "https://evil.example/x.jpg",  # https, but not an allowed host
            "file:///etc/passwd",
        ):
            with pytest.raises(SourceError, match="image not fetched"):
                await _download(source, url)
    finally:
        await source.aclose()
    assert bystander.hits == [] and fake.requests == []


async def test_redirects_within_the_trusted_origin_are_followed(
    make_source: MakeSource, fake: FakeApodServer
) -> None:
    fake.redirects["moved"] = fake.image_url("2024-03-01")
    body = await _download(make_source(), f"{fake.origin}/redirect/moved")
    assert body == fake.image("2024-03-01")


async def test_redirect_loops_end(make_source: MakeSource, fake: FakeApodServer) -> None:
    fake.redirects["loop"] = f"{fake.origin}/redirect/loop"
    with pytest.raises(SourceError, match="more than 5 redirects"):
        await _download(make_source(), f"{fake.origin}/redirect/loop")


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("2606:4700::1111", True),
    ],
)
async def test_address_classes(address: str, allowed: bool) -> None:
    policy = FetchPolicy(address)
    host = f"[{address}]" if ":" in address else address
    if allowed:
        await policy.check(f"https://{host}/x.jpg")
    else:
        with pytest.raises(RefusedURL, match="non-public address"):
            await policy.check(f"https://{host}/x.jpg")
