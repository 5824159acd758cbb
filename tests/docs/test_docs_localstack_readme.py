"""deploy/localstack/README.md: its first blocks run verbatim in a fresh clone (start
LocalStack, `make run`, stop), and those of "What `run.sh` does" with their port numbers
(LocalStack's 4600, the gallery's 9000) swapped for free ones; plugins/aws_storage/README.md's
block with LocalStack's port swapped. An upload must land in the bucket the exports name, and
`stop` must stop the LocalStack `start` started."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import httpx
import pytest

from .conftest import PASSWORD, free_port, jpeg, wait_ready
from .docblocks import Block, section_blocks
from .docshell import Shell
from .test_docs_localstack import _aws

pytestmark = [pytest.mark.docs, pytest.mark.timeout(900)]

DOC = "deploy/localstack/README.md"
TOP = "Salon on LocalStack (and moto) without Docker"
PORTS = "What `run.sh` does"
AWS_STORAGE = "salon-aws-storage"


def _stopped(shell: Shell) -> bool:
    return shell.run("bash deploy/localstack/run.sh status", check=False).status != 0


def _selected(shell: Shell) -> dict[str, str]:
    selected: dict[str, str] = json.loads(shell.capture(".venv/bin/salon plugins --json"))[
        "selected"
    ]
    return selected


def _upload_lands_in_bucket(url: str, env: dict[str, str]) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        account = {"email": f"ls-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
        assert client.post("/api/auth/signup", json=account).status_code == 201
        token = client.post("/api/auth/login", json=account).json()["access_token"]
        files = {"file": ("photo.jpg", jpeg((640, 480)), "image/jpeg")}
        uploaded = client.post(
            "/api/images", files=files, headers={"Authorization": f"Bearer {token}"}
        )
        assert uploaded.status_code == 201, uploaded.text
    listed = _aws(env, "s3").list_objects_v2(Bucket=env["SALON_S3_BUCKET"])
    assert listed.get("KeyCount", 0) >= 1, listed


def test_start_run_and_stop(clone: Path, shell: Shell) -> None:
    start, stop = section_blocks(clone, DOC, TOP)
    try:
        (server,) = shell.run_block(start)
        url = f"http://127.0.0.1:{shell.start_env['PORT']}"
        wait_ready(url, server)
        env = shell.env()
        assert env["SALON_DATA_DIR"] == "./data-localstack"
        assert (_selected(shell)["storage"], _selected(shell)["queue"]) == ("s3", "sqs")
        _upload_lands_in_bucket(url, env)
        server.stop()  # Ctrl-C, then the block that stops LocalStack
        shell.run_block(stop)
        assert _stopped(shell)
    finally:
        shell.run("bash deploy/localstack/run.sh stop", check=False)


def _on_ports(block: Block, localstack: int, web: int) -> Block:
    text = block.text
    assert "LOCALSTACK_PORT=4600" in text and "PORT=9000" in text, text
    text = text.replace("LOCALSTACK_PORT=4600", f"LOCALSTACK_PORT={localstack}")
    return dataclasses.replace(block, text=text.replace("PORT=9000", f"PORT={web}"))


def test_other_ports(clone: Path, shell: Shell) -> None:
    localstack, web = free_port(), int(shell.start_env["PORT"])
    (block,) = (_on_ports(b, localstack, web) for b in section_blocks(clone, DOC, PORTS))
    try:
        (server,) = shell.run_block(block)
        wait_ready(f"http://127.0.0.1:{web}", server)
        env = shell.env()
        assert env["AWS_ENDPOINT_URL"].rstrip("/") == f"http://127.0.0.1:{localstack}", env
        assert _selected(shell)["storage"] == "s3"
        ready = httpx.get(f"http://127.0.0.1:{web}/ready", timeout=30).json()
        assert ready["checks"]["storage"] == "ok", ready
    finally:
        # "`bash deploy/localstack/run.sh stop` then stops the LocalStack on port 4600"
        shell.run("bash deploy/localstack/run.sh stop", check=False)
    assert _stopped(shell)


def test_aws_storage_readme(clone: Path, shell: Shell) -> None:
    """plugins/aws_storage/README.md: `make localstack` starts LocalStack on the shell's
    LOCALSTACK_PORT, so the block's 4566 is swapped for that port."""
    port = shell.start_env["LOCALSTACK_PORT"]
    (block,) = section_blocks(clone, "plugins/aws_storage/README.md", AWS_STORAGE)
    assert "127.0.0.1:4566" in block.text, block.text
    block = dataclasses.replace(block, text=block.text.replace(":4566", f":{port}"))
    try:
        (server,) = shell.run_block(block)
        url = f"http://127.0.0.1:{shell.start_env['PORT']}"
        wait_ready(url, server)
        assert (_selected(shell)["storage"], _selected(shell)["queue"]) == ("s3", "local")
        _upload_lands_in_bucket(url, shell.env())
    finally:
        shell.run("make localstack-stop", check=False)
    assert _stopped(shell)
