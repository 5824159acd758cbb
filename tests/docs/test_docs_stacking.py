"""docs/plugins.md, "Stacking media processors", run verbatim in a fresh clone: the example's
tests pass, `salon plugins` marks both processors of the stack selected, and the server it
starts gives an upload an AVIF rendition and a perceptual hash."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from .conftest import PASSWORD, jpeg, wait_ready
from .docblocks import section_blocks
from .docshell import Shell, is_long_running

pytestmark = [pytest.mark.docs, pytest.mark.timeout(1200)]

SECTION = "Stacking media processors"


def test_the_stack_serves_avif_and_phash(clone: Path, shell: Shell) -> None:
    servers, outputs = [], {}
    for block in section_blocks(clone, "docs/plugins.md", SECTION):
        for command in block.commands():
            if is_long_running(command):
                servers.append(shell.start(command))
            else:
                outputs[command] = shell.capture(command)
    assert len(servers) == 1, servers
    assert "passed" in outputs[".venv/bin/pytest -q examples/salon-avif-phash/tests"]
    listing = outputs[".venv/bin/salon plugins"]
    assert " * media    pillow" in listing and " * media    avif_phash" in listing, listing

    url = f"http://127.0.0.1:{shell.start_env['PORT']}"
    wait_ready(url, servers[0])
    with httpx.Client(base_url=url, timeout=60, follow_redirects=True) as client:
        account = {"email": "stack@example.com", "password": PASSWORD}
        assert client.post("/api/auth/signup", json=account).status_code == 201
        token = client.post("/api/auth/login", json=account).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        files = {"file": ("photo.jpg", jpeg((1200, 800)), "image/jpeg")}
        image = client.post("/api/images", params={"wait": "true"}, files=files).json()
        assert len(image["metadata"]["phash"]) == 16, image
        avif = client.get(image["urls"]["renditions"]["avif"])
        assert avif.headers["content-type"] == "image/avif"
        assert Image.open(io.BytesIO(avif.content)).size == (1200, 800)
