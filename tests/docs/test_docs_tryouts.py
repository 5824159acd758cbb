"""The short "try it" blocks of docs/plugins.md and the example plugins' READMEs, run verbatim
in a fresh clone (the server's port is the shell's free ``PORT``, which ``make run`` and
``salon serve`` read), then checked for what their text promises. Plugins a block installs
into the clone's ``.venv`` are uninstalled afterwards, so later journeys do not see them."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import PASSWORD, jpeg, wait_ready
from .docblocks import Block, section_blocks
from .docshell import Background, Shell

pytestmark = [pytest.mark.docs, pytest.mark.timeout(600)]

TRACING = "Failure isolation, disabling and tracing"
EXAMPLE = "Try it"
HTPASSWD = "salon-htpasswd-auth"
PHOTO_LOG = "salon-photo-log"


@pytest.fixture
def uninstall(clone: Path, shell: Shell) -> Iterator[list[str]]:
    """Distributions a test's block installs; removed from the clone's .venv at the end (by
    absolute path: the block may have changed directory)."""
    installed: list[str] = []
    yield installed
    for name in installed:
        shell.run(f"{clone}/.venv/bin/pip uninstall -y -q {name}", check=False)


def _serve(shell: Shell, blocks: list[Block]) -> tuple[str, Background]:
    servers = [job for block in blocks for job in shell.run_block(block)]
    assert len(servers) == 1, [s.command for s in servers]
    url = f"http://127.0.0.1:{shell.start_env['PORT']}"
    wait_ready(url, servers[0])
    return url, servers[0]


def _signed_in(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=True)
    account = {"email": f"docs-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
    assert client.post("/api/auth/signup", json=account).status_code == 201
    token = client.post("/api/auth/login", json=account).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


PHOTO = jpeg((1200, 800))


def _upload(client: httpx.Client) -> str:
    files = {"file": ("photo.jpg", PHOTO, "image/jpeg")}
    answer = client.post("/api/images", params={"wait": "true"}, files=files)
    assert answer.status_code == 201, answer.text
    image_id: str = answer.json()["id"]
    return image_id


def test_tracing_prints_what_the_sample_shows(clone: Path, shell: Shell) -> None:
    (block,) = section_blocks(clone, "docs/plugins.md", TRACING)
    (command,) = block.commands()
    shell.run("make sync")  # the quick start's .venv (its `make test` makes the dev set)
    printed = shell.capture(command)
    sample = [line for line in block.text.splitlines() if line.startswith("INFO ")]
    assert len(sample) == 2, block.text
    for line in sample:  # durations differ from run to run: compare up to " took"
        assert line.partition(" took ")[0] in printed, printed


def test_example_plugin_serves_its_sharded_storage(
    clone: Path, shell: Shell, uninstall: list[str]
) -> None:
    uninstall.append("salon-example-plugin")
    url, _ = _serve(
        shell, section_blocks(clone, "examples/salon-example-plugin/README.md", EXAMPLE)
    )
    with contextlib.closing(_signed_in(url)) as client:
        _upload(client)
    sharded = clone / "examples/salon-example-plugin/data/sharded"
    stored = [p for p in sharded.rglob("*") if p.is_file()]
    # "the photo and its renditions are there as flat files"
    assert len(stored) >= 2, stored
    assert any(p.read_bytes() == PHOTO for p in stored), stored


def test_htpasswd_user_is_signed_in_by_basic_auth(
    clone: Path, shell: Shell, uninstall: list[str]
) -> None:
    uninstall.append("salon-htpasswd-auth")
    doc = "examples/salon-htpasswd-auth/README.md"
    serve, check = section_blocks(clone, doc, HTPASSWD)
    url, _ = _serve(shell, [serve])
    port = shell.start_env["PORT"]
    assert "127.0.0.1:8000" in check.text, check.text
    on_port = dataclasses.replace(
        check, text=check.text.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    )
    (command,) = on_port.commands()
    assert '"provider":"htpasswd"' in shell.capture(command).replace(" ", "")
    wrong = httpx.get(f"{url}/api/me", auth=("backup", "not the password"), timeout=30)
    assert wrong.status_code == 401 and "Basic" in wrong.headers["www-authenticate"]


def test_photo_log_logs_an_upload(clone: Path, shell: Shell) -> None:
    url, _ = _serve(shell, section_blocks(clone, "examples/salon-photo-log/README.md", PHOTO_LOG))
    with contextlib.closing(_signed_in(url)) as client:
        image_id = _upload(client)
        deadline = time.monotonic() + 60
        while True:  # the listener queues a job: the row arrives a moment later
            entries = client.get("/api/photo-log").json()["entries"]
            if entries or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert [e["image_id"] for e in entries] == [image_id], entries
    counted = shell.capture(".venv/bin/salon photo-log count")
    assert counted.strip().endswith("images logged") and int(counted.split()[0]) >= 1, counted
