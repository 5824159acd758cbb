"""Docs as tests: the README's and the guides' shell blocks, run in a fresh clone.

One clone per session (``git clone`` of this checkout's HEAD, plus its uncommitted changes to
tracked files, so an edited doc is tested before it is committed) in a temp dir. The clone
builds its own environment exactly as the docs say (``make run`` creates ``.venv``); only uv's
download cache is shared, which is uv's default. Each journey gets a fresh shell whose
environment is this process's minus anything that could make a step work by accident: no
``SALON_*``/``AWS_*`` variables, no active virtualenv, no test venv on PATH. Ports come from
the environment variables the docs document (``PORT``, ``LOCALSTACK_PORT``) and are free ones.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from .docshell import Background, Shell

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "docs"
READY_TIMEOUT = 600.0  # the first `make run` of a clone installs the environment
PASSWORD = "docs correct horse battery"  # a throwaway account


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _git(*args: str, cwd: Path = ROOT, stdin: bytes | None = None) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, check=True, timeout=120
    ).stdout


@pytest.fixture(scope="session")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of HEAD (with the uncommitted changes to tracked files applied)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the docs tests clone the repository: they need git and a git checkout")
    target = tmp_path_factory.mktemp("clone") / "salon"
    head = _git("rev-parse", "HEAD").decode().strip()
    _git("clone", "--quiet", "--no-checkout", str(ROOT), str(target))
    _git("checkout", "--quiet", "--detach", head, cwd=target)
    changes = _git("diff", "--binary", "HEAD")
    if changes:
        _git("apply", "--whitespace=nowarn", cwd=target, stdin=changes)
        print(f"docs tests: the clone of {head[:12]} carries this checkout's uncommitted changes")
    return target


def clean_env() -> dict[str, str]:
    """This process's environment without what a fresh shell of a new user would not have."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SALON_", "AWS_", "PYTEST_", "LOCALSTACK_"))
        and k not in {"VIRTUAL_ENV", "PYTHONPATH", "PORT", "HOST", "UV_PROJECT_ENVIRONMENT"}
    }
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    env["PATH"] = os.pathsep.join(path)
    return env


@contextmanager
def open_shell(clone: Path, name: str) -> Iterator[Shell]:
    """A new shell in the clone's root with ``PORT`` and ``LOCALSTACK_PORT`` set to free
    ports; its background jobs are stopped at the end. Logs go to test-artifacts/docs/<name>."""
    env = clean_env()
    env.update(PORT=str(free_port()), LOCALSTACK_PORT=str(free_port()))
    logs = ARTIFACTS / name
    shutil.rmtree(logs, ignore_errors=True)
    running = Shell(clone, env, logs)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def shell(clone: Path, request: pytest.FixtureRequest) -> Iterator[Shell]:
    with open_shell(clone, request.node.name) as running:
        yield running


def wait_ready(url: str, job: Background, timeout: float = READY_TIMEOUT) -> None:
    """Until ``url``/ready answers 200; fails with the job's log when it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not job.alive():
            pytest.fail(f"`{job.command}` exited before serving:\n{job.tail()}")
        try:
            if httpx.get(f"{url}/ready", timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"`{job.command}` was not ready at {url} within {timeout:.0f} s:\n{job.tail()}")


def jpeg(size: tuple[int, int] = (900, 600)) -> bytes:
    import io

    from PIL import Image

    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    gradient.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def sign_up_and_upload(browser: Any, url: str, name: str) -> tuple[str, list[str]]:
    """What the README tells a new user to do: open the page, sign up, drop a photo in.
    Returns the account's e-mail and the URLs the page POSTed to. Fails on a page error
    or a Content-Security-Policy violation."""
    from playwright.sync_api import expect

    email = f"docs-{uuid.uuid4().hex[:8]}@example.com"
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    posts: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    try:
        page.goto("/")
        page.get_by_role("link", name="Create an account").click()
        # The form is wired by a module script: a click before the page's load event would
        # submit it natively (a reload with the fields emptied), as a busy machine showed.
        page.wait_for_url(f"{url}/signup")
        page.wait_for_load_state("load")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"{url}/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Upload").click()
        page.wait_for_url(f"{url}/upload")
        page.get_by_label("Choose files").set_input_files(
            files=[{"name": f"{name}.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
        )
        expect(page.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Photos").click()
        expect(page.locator(".tile-frame.loaded")).to_have_count(1, timeout=60_000)
        assert not [e for e in errors if "Content Security Policy" in e], errors
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
        print("page console errors:", errors)
        raise
    finally:
        context.close()
    return email, posts


# The journeys in the order a newcomer meets them, so the quick start is the one that finds the
# clone really fresh (later journeys reuse the environment it built, as a reader would).
ORDER = [
    "test_docs_blocks",
    "test_docs_quickstart",
    "test_docs_localstack",
    "test_docs_plugin_tutorial",
    "test_docs_stacking",
    "test_docs_deploy",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = [i for i, item in enumerate(items) if item.path.stem in ORDER]
    ranked = sorted((items[i] for i in here), key=lambda item: ORDER.index(item.path.stem))
    for index, item in zip(here, ranked, strict=True):
        items[index] = item
