"""Browser-test fixtures: the real Salon server as a subprocess, and Debian's Chromium.

The server runs exactly as a user would start it (``salon db upgrade`` then ``salon serve``) in
embedded mode (SQLite, local storage, local accounts, in-process worker with the ffmpeg video
handler) on a free port, with a fake NASA APOD API on 127.0.0.1 when the plugin is installed.
Playwright drives /usr/bin/chromium: Playwright's own browser download is not used.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
PASSWORD = "e2e correct horse battery"  # a throwaway test account
READY_TIMEOUT = 120.0  # start-up imports are slow on a busy 2-core machine
STOP_TIMEOUT = 20.0


def _salon_bin() -> Path:
    """The ``salon`` script next to the running interpreter (the workspace venv)."""
    candidate = Path(sys.executable).parent / "salon"
    return candidate if candidate.exists() else ROOT / ".venv" / "bin" / "salon"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def jpeg(
    size: tuple[int, int],
    colors: tuple[tuple[int, int, int], tuple[int, int, int]],
    taken: str = "",
    offset: str = "",
) -> bytes:
    """A real JPEG with a two-colour gradient (so renditions and placeholders differ), and an
    EXIF DateTimeOriginal when ``taken`` ("YYYY:MM:DD HH:MM:SS") is given, with its
    OffsetTimeOriginal when ``offset`` ("+09:00") is."""
    from PIL import ExifTags, Image

    gradient = Image.linear_gradient("L").resize(size)
    start, end = (Image.new("RGB", size, c) for c in colors)
    image = Image.composite(end, start, gradient)
    exif = Image.Exif()
    if taken:
        exif.get_ifd(ExifTags.IFD.Exif)[0x9003] = taken
    if offset:
        exif.get_ifd(ExifTags.IFD.Exif)[0x9011] = offset
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, exif=exif.tobytes())
    return buffer.getvalue()


@dataclass
class Server:
    """A running Salon server."""

    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    apod: Any | None = None
    s3_endpoint: str = ""

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def api_user(self, email: str) -> httpx.Client:
        """An API client signed in as a new account ``email`` (Bearer token, no cookies)."""
        client = httpx.Client(base_url=self.url, timeout=30)
        client.post(
            "/api/auth/signup", json={"email": email, "password": PASSWORD}
        ).raise_for_status()
        response = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        response.raise_for_status()
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return client


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"salon serve exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            if httpx.get(f"{server.url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"salon serve was not ready within {READY_TIMEOUT:.0f} s:\n{server.log_tail()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (granian stops its workers), then SIGKILL to the group we started."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def start_server(
    stack: ExitStack, data_dir: Path, extra_env: dict[str, str], name: str = "server"
) -> Server:
    """``salon db upgrade`` then ``salon serve`` on a free port; stopped when ``stack`` closes.
    The log is copied to test-artifacts/e2e/<name>.log at the end."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # Only our settings: a developer's SALON_* (say, a PostgreSQL URL) must not leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env.update(
        SALON_DATA_DIR=str(data_dir),
        SALON_PUBLIC_URL=url,
        SALON_SECRET_KEY=secrets.token_urlsafe(32),
        SALON_AUTH_RATE_LIMIT="1000",
        SALON_INPROCESS_WORKER="true",
        SALON_LOG_LEVEL="INFO",
    )
    env.update(extra_env)
    salon = str(_salon_bin())
    upgrade = subprocess.run(
        [salon, "db", "upgrade"], env=env, cwd=data_dir, capture_output=True, timeout=120
    )
    if upgrade.returncode != 0:
        pytest.fail(f"salon db upgrade failed:\n{upgrade.stderr.decode(errors='replace')}")
    log_path = data_dir / "server.log"

    def keep_log() -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / f"{name}.log")

    stack.callback(keep_log)
    log = stack.enter_context(log_path.open("wb"))
    process = subprocess.Popen(
        [salon, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=data_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so SIGKILL reaches its workers
    )
    running = Server(url, data_dir, log_path, process)
    stack.callback(_stop, process)
    _wait_ready(running)
    return running


def _embedded(stack: ExitStack, data_dir: Path) -> Server:
    """Embedded mode, plus a fake APOD API when the plugin is installed."""
    apod = None
    extra: dict[str, str] = {}
    try:
        from salon_nasa_apod.testing import FakeApodServer
    except ImportError:
        print("salon-nasa-apod is not installed: the APOD browser test will skip")
    else:
        apod = stack.enter_context(FakeApodServer())
        extra.update(SALON_APOD_BASE_URL=apod.base_url, SALON_APOD_API_KEY=apod.api_key)
    running = start_server(stack, data_dir, extra)
    running.apod = apod
    return running


def _with_s3(stack: ExitStack, data_dir: Path) -> Server:
    """S3 storage on moto's server over HTTPS (see moto_https.py)."""
    from .moto_https import moto_s3

    env, endpoint = moto_s3(stack, data_dir)
    running = start_server(stack, data_dir, env, name="server-s3")
    running.s3_endpoint = endpoint
    return running


@pytest.fixture(scope="session")
def _servers(
    request: pytest.FixtureRequest, chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future[Server]]]:
    """Start the servers the collected tests need, side by side: start-up is mostly waiting
    on imports, and doing it in parallel keeps the suite near two minutes on a busy machine."""
    wanted = {
        name
        for item in request.session.items
        for name in ("server", "s3_server")
        if name in getattr(item, "fixturenames", ())
    }
    makers: dict[str, Callable[[ExitStack, Path], Server]] = {
        "server": _embedded,
        "s3_server": _with_s3,
    }
    with ExitStack() as stacks, ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            name: pool.submit(
                makers[name], stacks.enter_context(ExitStack()), tmp_path_factory.mktemp(name)
            )
            for name in sorted(wanted)
        }
        yield futures
        wait(futures.values())  # a server still starting is stopped once it is up


@pytest.fixture(scope="session")
def server(_servers: dict[str, Future[Server]]) -> Server:
    """The embedded-mode server (SQLite, local storage and accounts, in-process worker)."""
    return _servers["server"].result()


@pytest.fixture(scope="session")
def s3_server(_servers: dict[str, Future[Server]]) -> Server:
    """A server whose storage is S3 (moto over HTTPS): uploads go straight to the bucket."""
    return _servers["s3_server"].result()


@dataclass
class Console:
    """What the page printed: errors and Content-Security-Policy violations fail tests."""

    errors: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]


def new_page(browser: Any, server: Server, **context_options: Any) -> tuple[Any, Any, Console]:
    context = browser.new_context(base_url=server.url, **context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    console = Console()
    page.on("console", lambda msg: console.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: console.errors.append(f"uncaught: {exc}"))
    return context, page, console


def sign_up(page: Any, server: Server, email: str) -> httpx.Client:
    """Sign up through the page's form (the browser is then signed in as ``email``) and return
    an API client signed in as the same account, to arrange what the page then shows."""
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{server.url}/")
    client = httpx.Client(base_url=server.url, timeout=60)
    login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return client


def listing_requests(page: Any) -> list[dict[str, list[str]]]:
    """The query of every ``GET /api/images`` the page makes from now on, appended as made."""
    asked: list[dict[str, list[str]]] = []

    def record(request: Any) -> None:
        url = urlsplit(request.url)
        if url.path == "/api/images":
            asked.append(parse_qs(url.query))

    page.on("request", record)
    return asked


def nav_links(page: Any) -> list[str]:
    """The texts of the main navigation's links, in order."""
    links = page.get_by_role("navigation", name="Main").get_by_role("list").get_by_role("link")
    return [str(text).strip() for text in links.all_inner_texts()]


def shot(page: Any, name: str) -> Path:
    """Save a screenshot under test-artifacts/e2e/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(page: Any, predicate: str, timeout: float = 15.0) -> Any:
    """Poll a JavaScript function until it returns something truthy. (``wait_for_function``
    evaluates strings with ``eval``, which the page's CSP rightly refuses.)"""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(predicate)
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {predicate}")
        time.sleep(0.1)


UNLABELLED = """() => {
  const named = (el) => {
    if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return true;
    if (el.labels && el.labels.length) return true;
    if (el.textContent.trim()) return true;
    return [...el.querySelectorAll("img")].some((img) => img.alt.trim());
  };
  const visible = (el) => el.getClientRects().length > 0 || el.closest("dialog");
  const bad = [];
  for (const el of document.querySelectorAll("button, a[href], input, select, textarea")) {
    if (el.type === "hidden" || !visible(el)) continue;
    if (!named(el)) bad.push(el.outerHTML.slice(0, 120));
  }
  for (const img of document.querySelectorAll("img")) {
    if (!img.hasAttribute("alt")) bad.push(img.outerHTML.slice(0, 120));
  }
  return bad;
}"""


def unlabelled(page: Any) -> list[str]:
    """Controls without an accessible name and images without alt text on the current page."""
    found: list[str] = page.evaluate(UNLABELLED)
    return found


@pytest.fixture
def failure_context(
    request: pytest.FixtureRequest, _servers: dict[str, Future[Server]], browser: Any
) -> Iterator[list[Any]]:
    """Pages registered here get a screenshot and their text printed, and the servers' logs are
    printed, on failure."""
    pages: list[Any] = []
    yield pages
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for index, page in enumerate(pages):
            try:
                shot(page, f"FAILED-{request.node.name}-{index}")
                # CI keeps no screenshots: what the page said is in the output instead.
                print(f"--- page {index} at {page.url} ---\n{page.inner_text('body')[:3000]}")
            except Exception as exc:  # the page may be gone; the log still helps
                print(f"no screenshot: {exc}")
        for name, future in _servers.items():
            if future.done() and future.exception() is None:
                print(f"--- {name} log ---\n{future.result().log_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
