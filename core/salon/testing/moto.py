"""A moto server for tests: real AWS wire protocol on a free local port, in-process.

Use it in a fixture::

    @pytest.fixture(scope="session")
    def moto():
        with moto_server() as server:
            yield server

    @pytest.fixture
    def aws(moto, monkeypatch):
        moto.reset()                       # every test starts from empty state
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto.endpoint_url)
        ...

moto keeps its state in process-wide backends: every moto server started in one process shares
it, and ``reset`` clears it for all of them. Give each test its own resources (a fresh pool or
bucket name) or reset between tests.

moto is a test dependency (``moto[server]``), not one of Salon's: importing this module works
without it, starting a server raises ``RuntimeError`` saying what to install.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["FAKE_CREDENTIALS", "MotoServer", "moto_server", "start_moto_server"]

FAKE_CREDENTIALS: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""Environment values that keep boto3 away from real credentials while talking to moto."""


@dataclass(slots=True)
class MotoServer:
    """A running moto server. ``endpoint_url`` is what ``AWS_ENDPOINT_URL`` should be."""

    host: str
    port: int
    _server: Any

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        """Forget every resource (pools, users, buckets, queues) of every service."""
        request = urllib.request.Request(  # noqa: S310 - a fixed http URL on localhost
            f"{self.endpoint_url}/moto-api/reset", method="POST", data=b""
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def stop(self) -> None:
        self._server.stop()


def start_moto_server(host: str = "127.0.0.1") -> MotoServer:
    """Start a moto server in a daemon thread on a free port (the OS picks it: no races)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise RuntimeError(
            "salon.testing.moto needs moto's server: install `moto[server]`"
        ) from exc
    # werkzeug logs every request at INFO; tests want their own output readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    bound_host, port = server.get_host_and_port()
    return MotoServer(host=bound_host, port=port, _server=server)


@contextmanager
def moto_server(host: str = "127.0.0.1") -> Iterator[MotoServer]:
    """A moto server for the duration of the ``with`` block."""
    server = start_moto_server(host)
    try:
        yield server
    finally:
        server.stop()
