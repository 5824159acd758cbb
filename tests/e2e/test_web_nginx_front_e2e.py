"""The gallery in Chromium through the shipped nginx front (deploy/nginx, `salon nginx-config`).

Salon runs with no SALON_PUBLIC_URL and trusts nginx's address (SALON_TRUSTED_PROXIES), as
deploy/nginx/README.md says; the browser only ever talks to nginx: it signs up, uploads on the
Upload page (the relative upload URL goes to nginx, which streams it to Salon) and sees the
photo, whose rendition nginx serves itself.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import PASSWORD, Server, _salon_bin, free_port, jpeg, new_page, start_server

pytestmark = pytest.mark.e2e

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_MAIN = """daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/salon.conf;
}}
"""
PICK_FILE = """(f) => {
  const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], f.name, { type: "image/jpeg" }));
  const input = document.querySelector("[data-file-input]");
  input.files = transfer.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}"""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def front(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Salon and nginx in front of it; the Server's url is nginx's."""
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install -y nginx-light)")
    tmp = tmp_path_factory.mktemp("nginx-front-e2e")
    data = tmp / "data"
    data.mkdir()
    env = {
        "SALON_PUBLIC_URL": "",
        "SALON_TRUSTED_PROXIES": "127.0.0.1",
        "SALON_SECRET_KEY": secrets.token_urlsafe(32),
    }
    with ExitStack() as stack:
        salon = start_server(stack, data, env, name="server-behind-nginx")
        port = free_port()
        upstream = salon.url.split("//", 1)[1]
        command = [str(_salon_bin()), "nginx-config", "--upstream", upstream]
        rendered = subprocess.run(
            [*command, "--listen", f"127.0.0.1:{port}"],
            env={**env, "SALON_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"},
            cwd=data,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        (tmp / "salon.conf").write_text(rendered)
        (tmp / "nginx.conf").write_text(NGINX_MAIN.format(tmp=tmp))
        nginx = subprocess.Popen(
            [NGINX, "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "nginx-error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        stack.callback(_stop, nginx)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert nginx.poll() is None, (tmp / "nginx-error.log").read_text()
            assert time.monotonic() < deadline, "nginx did not come up"
            time.sleep(0.2)
        yield Server(url, data, salon.log_path, salon.process)


def test_upload_through_the_nginx_front(
    browser: Any, front: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    context, page, console = new_page(browser, front)
    failure_context.append(page)
    page.goto("/signup")
    page.get_by_label("Email").fill(f"front-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{front.url}/")
    page.goto("/upload")
    photo = jpeg((900, 600), ((200, 40, 40), (30, 30, 160)))
    page.evaluate(PICK_FILE, {"name": "dusk.jpg", "b64": base64.b64encode(photo).decode()})
    expect(page.locator(".upload[data-status='done']")).to_have_count(1, timeout=60_000)
    page.goto("/")
    expect(page.locator(".tile-img")).to_have_attribute("alt", "dusk")
    expect(page.locator(".tile-frame.loaded")).to_have_count(1, timeout=30_000)
    image = page.locator(".tile-img")
    assert image.evaluate("(i) => i.naturalWidth") > 0
    # The rendition the browser shows came from nginx itself (its ETag, not Salon's).
    source = image.evaluate("(i) => i.currentSrc")
    served = page.request.get(source)
    assert served.ok, served.status
    assert served.headers["server"].startswith("nginx"), served.headers
    assert not console.csp_violations(), console.errors
    context.close()
