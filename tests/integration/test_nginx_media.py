"""Salon behind real nginx with the config ``salon nginx-config`` prints (deploy/nginx).

A real ``salon serve`` (SQLite, local storage, in-process worker) and a real nginx on free
ports. Through nginx: sign-up, upload, the rendition redirect, then the signed rendition link
served by nginx itself (secure_link + sendfile: nginx's ETag format and Accept-Ranges, which
Salon's /media/ handler never sends), the same bytes as Salon's, the caching contract, 403 on a
tampered token, 410 on an expired link, and originals and the API proxied to Salon.

Salon runs with two workers and trusts nginx's address (``SALON_TRUSTED_PROXIES``), as the
README says to: a browser-like upload (cookie session, relative upload URL) goes through the
front, each client behind nginx has its own rate limit (clients use loopback source addresses
127.0.0.2-5, so nginx sees different peers), and forwarded headers from anyone else are ignored.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from salon.domain.images.serving import MediaSigner
from salon.testing.fixtures import sample_jpeg

READY_TIMEOUT = 60.0
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PASSWORD = "nginx-front-password-1"
WORKERS = ("--workers", "2")

# What the test wraps around the rendered server block: everything in the test's own folder.
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


@dataclass
class Stack:
    """Salon and nginx in front of it."""

    salon: str
    nginx: str
    secret: str
    ttl: int
    config: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _salon_bin() -> str:
    candidate = Path(sys.executable).parent / "salon"
    return str(candidate if candidate.exists() else Path(".venv/bin/salon").resolve())


def _nginx_or_skip() -> None:
    if not Path(NGINX).exists():
        pytest.skip("nginx is not installed (apt-get install -y nginx-light)")
    version = subprocess.run([NGINX, "-V"], capture_output=True, text=True, timeout=30)
    if "secure_link" not in version.stderr + version.stdout:
        pytest.skip(f"{NGINX} lacks ngx_http_secure_link_module (Debian's nginx-light has it)")


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{url}: the server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"{url} was not up within {READY_TIMEOUT:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own group: only what this test started
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _nginx_or_skip()
    tmp = tmp_path_factory.mktemp("nginx-front")
    data = tmp / "data"
    data.mkdir()
    secret = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env.update(
        SALON_DATA_DIR=str(data),
        SALON_SECRET_KEY=secret,
        SALON_TRUSTED_PROXIES="127.0.0.1",
        SALON_INPROCESS_WORKER="true",
        SALON_LOG_LEVEL="WARNING",
    )
    salon = _salon_bin()
    subprocess.run([salon, "db", "upgrade"], env=env, cwd=data, check=True, capture_output=True)
    salon_port, nginx_port = _free_port(), _free_port()
    listen = f"127.0.0.1:{nginx_port}"
    rendered = subprocess.run(
        [salon, "nginx-config", "--upstream", f"127.0.0.1:{salon_port}", "--listen", listen],
        env=env,
        cwd=data,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (tmp / "salon.conf").write_text(rendered)
    (tmp / "nginx.conf").write_text(NGINX_MAIN.format(tmp=tmp))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with (tmp / "salon.log").open("wb") as salon_log:
            processes.append(
                subprocess.Popen(
                    # Two workers: the rate-limit counters must be shared between them.
                    [salon, "serve", "--host", "127.0.0.1", "--port", str(salon_port), *WORKERS],
                    env=env,
                    cwd=data,
                    stdout=salon_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        _wait(f"http://127.0.0.1:{salon_port}/ready", processes[0], tmp / "salon.log")
        with (tmp / "nginx.log").open("wb") as nginx_log:
            processes.append(
                subprocess.Popen(
                    [NGINX, "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "nginx-error.log")],
                    stdout=nginx_log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        _wait(f"http://127.0.0.1:{nginx_port}/ready", processes[1], tmp / "nginx-error.log")
        yield Stack(
            salon=f"http://127.0.0.1:{salon_port}",
            nginx=f"http://127.0.0.1:{nginx_port}",
            secret=secret,
            ttl=300,
            config=rendered,
        )
    finally:
        for process in reversed(processes):
            _stop(process)


@pytest.fixture(scope="module")
def uploaded(stack: Stack) -> tuple[dict[str, str], dict[str, object], bytes]:
    """Signed up, logged in and uploaded through nginx; waits for the ``sm`` rendition."""
    photo = sample_jpeg(800, 600, (30, 120, 200))
    with httpx.Client(base_url=stack.nginx, timeout=30) as client:
        email = "nginx-front@example.com"
        signup = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert signup.status_code == 201, signup.text
        login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        files = {"file": ("photo.jpg", photo, "image/jpeg")}
        created = client.post("/api/images", params={"wait": "true"}, files=files, headers=auth)
        assert created.status_code == 201, created.text
        image = created.json()
        deadline = time.monotonic() + READY_TIMEOUT
        while "sm" not in image["urls"]["renditions"]:
            assert time.monotonic() < deadline, f"no sm rendition: {image}"
            time.sleep(0.2)
            image = client.get(f"/api/images/{image['id']}", headers=auth).json()
    return auth, image, photo


def _rendition_link(stack: Stack, auth: dict[str, str], image: dict[str, object]) -> str:
    url = image["urls"]["renditions"]["sm"]  # type: ignore[index]
    hop = httpx.get(f"{stack.nginx}{url}", headers=auth, follow_redirects=False, timeout=30)
    assert hop.status_code == 307, hop.text
    location: str = hop.headers["location"]
    assert location.startswith("/media/renditions/") and "&m=" in location
    return location


def test_the_config_holds_the_derived_key_never_the_secret(stack: Stack) -> None:
    assert stack.secret not in stack.config
    assert MediaSigner(stack.secret, stack.ttl).nginx_key() in stack.config
    assert "{{" not in stack.config


def test_nginx_serves_signed_renditions_itself(
    stack: Stack, uploaded: tuple[dict[str, str], dict[str, object], bytes]
) -> None:
    auth, image, _ = uploaded
    location = _rendition_link(stack, auth, image)
    served = httpx.get(f"{stack.nginx}{location}", timeout=30)
    assert served.status_code == 200
    # nginx's own static answer: its "mtime-size" ETag and byte ranges; Salon's /media/ ETag
    # is "<sha256>-sm" and it sends no Accept-Ranges.
    assert served.headers["server"].startswith("nginx")
    assert served.headers["accept-ranges"] == "bytes"
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', served.headers["etag"])
    assert served.headers["etag"] != f'"{image["sha256"]}-sm"'
    assert served.headers["content-type"] == "image/webp"
    assert served.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert "last-modified" in served.headers

    from_salon = httpx.get(f"{stack.salon}{location}", timeout=30)
    assert from_salon.status_code == 200
    assert from_salon.headers["etag"] == f'"{image["sha256"]}-sm"'
    assert served.content == from_salon.content and len(served.content) > 100

    etag = served.headers["etag"]
    again = httpx.get(f"{stack.nginx}{location}", headers={"if-none-match": etag}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    assert "immutable" in again.headers["cache-control"]


def test_tampered_missing_and_expired_tokens_are_refused_by_nginx(
    stack: Stack, uploaded: tuple[dict[str, str], dict[str, object], bytes]
) -> None:
    auth, image, _ = uploaded
    location = _rendition_link(stack, auth, image)
    path, query = location.split("?", 1)
    token = re.search(r"(?:^|&)m=([^&]+)", query)
    assert token is not None
    flipped = ("B" if token.group(1)[0] == "A" else "A") + token.group(1)[1:]
    tampered = location.replace(f"m={token.group(1)}", f"m={flipped}")
    assert httpx.get(f"{stack.nginx}{tampered}", timeout=30).status_code == 403
    # Salon checks its own HMAC and ignores m: the same link is fine there.
    assert httpx.get(f"{stack.salon}{tampered}", timeout=30).status_code == 200
    no_token = location.replace(f"&m={token.group(1)}", "")
    assert httpx.get(f"{stack.nginx}{no_token}", timeout=30).status_code == 403
    other_path = location.replace("/sm.", "/md.", 1)
    assert httpx.get(f"{stack.nginx}{other_path}", timeout=30).status_code == 403
    # A later expiry with the old token: the expiry is part of what the token covers.
    expires = re.search(r"(?:^|&)x=(\d+)", query)
    assert expires is not None
    later = location.replace(f"x={expires.group(1)}", f"x={int(expires.group(1)) + 3600}")
    assert httpx.get(f"{stack.nginx}{later}", timeout=30).status_code == 403

    signer = MediaSigner(stack.secret, stack.ttl)
    key = path[len("/media/") :]
    stale = signer.url(key, content_type="image/webp", etag="e", now=time.time() - 3 * stack.ttl)
    assert httpx.get(f"{stack.nginx}{stale}", timeout=30).status_code == 410
    fresh = signer.url(key, content_type="image/webp", etag="e")
    assert httpx.get(f"{stack.nginx}{fresh}", timeout=30).status_code == 200


def test_originals_and_the_api_go_through_to_salon(
    stack: Stack, uploaded: tuple[dict[str, str], dict[str, object], bytes]
) -> None:
    auth, image, photo = uploaded
    me = httpx.get(f"{stack.nginx}/api/me", headers=auth, timeout=30)
    assert me.status_code == 200 and me.json()["email"] == "nginx-front@example.com"
    assert httpx.get(f"{stack.nginx}/api/me", timeout=30).status_code == 401

    url = image["urls"]["original"]  # type: ignore[index]
    hop = httpx.get(f"{stack.nginx}{url}", headers=auth, follow_redirects=False, timeout=30)
    assert hop.status_code == 307
    assert hop.headers["location"].startswith("/media/originals/")
    original = httpx.get(f"{stack.nginx}{hop.headers['location']}", timeout=30)
    assert original.status_code == 200
    assert original.headers["content-type"] == "image/jpeg"  # only Salon knows it
    assert original.headers["etag"] == f'"{image["sha256"]}"'
    assert "filename*=UTF-8''" in original.headers["content-disposition"]
    assert original.content == photo
    tampered = hop.headers["location"].replace("s=", "s=A")
    assert httpx.get(f"{stack.nginx}{tampered}", timeout=30).status_code == 403


def _client_from(address: str, base_url: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x.y.z works on Linux)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base_url, transport=transport, timeout=30)


def test_a_browser_like_upload_through_the_front(stack: Stack) -> None:
    """What the Upload page does, through nginx: cookie session, CSRF header, the relative
    upload URL the intent gives, completion, and the image listed."""
    origin = {"Origin": stack.nginx, "Sec-Fetch-Site": "same-origin"}
    with _client_from("127.0.0.4", stack.nginx) as browser:
        email = "browser-behind-nginx@example.com"
        body = {"email": email, "password": PASSWORD}
        assert browser.post("/api/auth/signup", json=body, headers=origin).status_code == 201
        login = browser.post("/api/auth/login?session=cookie", json=body, headers=origin)
        assert login.status_code == 200, login.text
        # Plain http front: cookies are not Secure and there is no HSTS.
        assert "secure" not in login.headers["set-cookie"].lower()
        assert "strict-transport-security" not in login.headers
        write = {**origin, "X-CSRF-Token": browser.cookies["salon_csrf"]}
        photo = sample_jpeg(640, 480, (200, 90, 40))
        intent = browser.post(
            "/api/uploads",
            json={"filename": "front.jpg", "content_type": "image/jpeg", "size": len(photo)},
            headers=write,
        )
        assert intent.status_code == 201, intent.text
        upload = intent.json()
        # Relative: the browser sends the bytes to the origin it is on (here nginx's).
        assert upload["url"] == f"/api/uploads/{upload['upload_id']}/file"
        sent = browser.post(
            upload["url"], files={"file": ("front.jpg", photo, "image/jpeg")}, headers=write
        )
        assert sent.status_code == 204, sent.text
        done = browser.post(f"/api/uploads/{upload['upload_id']}/complete", headers=write)
        assert done.status_code == 201, done.text
        listed = browser.get("/api/images").json()["items"]
        assert [i["id"] for i in listed] == [done.json()["id"]]
        # With no SALON_PUBLIC_URL, links that leave the session use the address in use.
        share = browser.post(f"/api/images/{done.json()['id']}/share", headers=write)
        assert share.status_code == 201, share.text
        assert share.json()["url"].startswith(f"{stack.nginx}/share/")


def test_forwarded_headers_count_only_from_trusted_proxies(stack: Stack) -> None:
    """Straight to Salon: from 127.0.0.1 (trusted) X-Forwarded-Proto/-Host are honoured
    (HSTS, an https share link on the forwarded host); from 127.0.0.5 they are ignored."""
    forwarded = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "photos.example.org",
    }
    answers = {}
    for address in ("127.0.0.1", "127.0.0.5"):
        with _client_from(address, stack.salon) as client:
            email = f"forwarded-{address}@example.com"
            body = {"email": email, "password": PASSWORD}
            assert client.post("/api/auth/signup", json=body).status_code == 201
            login = client.post("/api/auth/login", json=body, headers=forwarded)
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            image = client.post(
                "/api/images", files={"file": ("p.jpg", sample_jpeg(), "image/jpeg")}, headers=auth
            )
            assert image.status_code == 201, image.text
            share = client.post(
                f"/api/images/{image.json()['id']}/share", headers={**auth, **forwarded}
            )
            answers[address] = (share.json()["url"], share.headers)
    trusted_url, trusted_headers = answers["127.0.0.1"]
    assert trusted_url.startswith("https://photos.example.org/share/")
    assert trusted_headers["strict-transport-security"] == "max-age=31536000"
    spoofed_url, spoofed_headers = answers["127.0.0.5"]
    assert spoofed_url.startswith(f"{stack.salon}/share/")
    assert "strict-transport-security" not in spoofed_headers


def _next_minute() -> None:
    time.sleep(60 - time.time() % 60 + 0.05)


def test_one_client_behind_the_front_cannot_lock_out_another(stack: Stack) -> None:
    """32 failed logins from one client, spoofing X-Forwarded-For on every request, through
    nginx: exactly SALON_AUTH_RATE_LIMIT (30) are answered, counted across both workers; that
    client's refresh bucket is untouched; another client logs in and refreshes as usual."""
    victim_body = {"email": "victim-behind-nginx@example.com", "password": PASSWORD}
    with _client_from("127.0.0.3", stack.nginx) as victim:
        assert victim.post("/api/auth/signup", json=victim_body).status_code == 201
    with _client_from("127.0.0.2", stack.nginx) as attacker:

        def guess(n: int) -> int:
            body = {"email": f"nobody-{n}@example.com", "password": "not the password"}
            spoof = {"X-Forwarded-For": f"198.51.100.{n % 250}"}
            return attacker.post("/api/auth/login", json=body, headers=spoof).status_code

        # The limits count in calendar minutes: a burst that straddles two is run again in
        # a fresh minute (on a busy machine 32 logins can take a while).
        for attempt in range(3):
            if 60 - time.time() % 60 < 30:
                _next_minute()
            minute = time.time() // 60
            # Two at a time: one address holds at most SALON_PASSWORD_HASH_PER_CLIENT (2)
            # places in the hashing queue; more would be 429 from the queue, not the limit.
            with ThreadPoolExecutor(max_workers=2) as pool:
                statuses = sorted(pool.map(guess, range(attempt * 32, attempt * 32 + 32)))
            if time.time() // 60 == minute:
                break
            _next_minute()
        assert statuses == [401] * 30 + [429] * 2, statuses
        refresh = attacker.post("/api/auth/refresh", json={"refresh_token": "x" * 40})
        assert refresh.status_code == 401, refresh.text
    with _client_from("127.0.0.3", stack.nginx) as victim:
        login = victim.post("/api/auth/login", json=victim_body)
        assert login.status_code == 200, login.text
        refreshed = victim.post(
            "/api/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text


def test_a_silent_connection_is_closed_by_the_front(stack: Stack) -> None:
    """granian keeps a connection that sends nothing open for good (the outside attack held
    2048 of them and locked everyone out of a bare `salon serve`); nginx closes it after
    client_header_timeout (15 s) and limits requests in progress per address."""
    assert "client_header_timeout 15s;" in stack.config
    assert "limit_conn salon_conn_per_client 64;" in stack.config
    host, port = stack.nginx.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=60) as silent:
        opened = time.monotonic()
        while silent.recv(4096):  # nginx may say 408 first; then it closes
            pass
        waited = time.monotonic() - opened
    assert 10 < waited < 45, waited
