"""deploy/localstack/README.md, "Cognito on moto": the block run in a fresh clone, with its two
port numbers (moto's 5001, the gallery's 9000) swapped for free ones. Then the journey the
section describes: sign up, confirm with any code, sign in, and /api/me names the account."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import httpx
import pytest

from .conftest import free_port, wait_ready
from .docblocks import Block, section_blocks
from .docshell import Shell

pytestmark = [pytest.mark.docs, pytest.mark.timeout(900)]

DOC = "deploy/localstack/README.md"
SECTION = "Cognito on moto"
# Cognito's password policy in the pool the helper makes: upper, lower and a digit.
PASSWORD = "Docs Cognito Horse 42"


def _on_ports(block: Block, moto: int, web: int) -> Block:
    text = block.text
    assert text.count("5001") >= 2 and "PORT=9000" in text, text  # what is swapped, is there
    return dataclasses.replace(
        block, text=text.replace("5001", str(moto)).replace("PORT=9000", f"PORT={web}")
    )


def test_cognito_on_moto_block(clone: Path, shell: Shell) -> None:
    moto, web = free_port(), int(shell.start_env["PORT"])
    blocks = [_on_ports(b, moto, web) for b in section_blocks(clone, DOC, SECTION)]
    servers = [job for block in blocks for job in shell.run_block(block)]
    assert len(servers) == 2, [s.command for s in servers]  # moto server and the gallery
    url = f"http://127.0.0.1:{web}"
    wait_ready(url, servers[-1])
    selected = json.loads(shell.capture(".venv/bin/salon plugins --json"))["selected"]
    assert selected["auth"] == "cognito", selected

    email = f"docs-cognito-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=url, timeout=30) as client:
        signup = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        assert signup.json()["confirmation_required"] is True, signup.text
        # "moto sends no mail and accepts any code (`123456` will do)"
        confirmed = client.post("/api/auth/confirm", json={"email": email, "code": "123456"})
        assert confirmed.status_code == 200, confirmed.text
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["email"] == email, me.text
