"""examples/salon-example-plugin, installed the way a user installs a third-party plugin.

A throw-away virtual environment gets the core and the example built from this checkout (as
wheels, not editable, no system site-packages), with dependency versions pinned to the project
venv's so uv can take them from its cache. Then, in that environment only:

- ``salon plugins --json`` lists the plugin, found by its entry point, and its providers;
- ``SALON_STORAGE=sharded`` selects its backend, and a real ``salon serve`` (granian) stores an
  upload in it and serves it back over HTTP;
- the example's own tests (the contract suites, subclassed) pass.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from salon.testing import sample_jpeg

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "salon-example-plugin"
INSTALL_TIMEOUT = 300


@dataclass(frozen=True)
class Venv:
    path: Path

    def bin(self, name: str) -> str:
        return str(self.path / "bin" / name)


def _uv() -> str | None:
    found = shutil.which("uv")
    local = ROOT / ".tools" / "bin" / "uv"
    return found or (str(local) if local.exists() else None)


def _clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """No SALON_* from the outer test run leaks in; salon.toml is never picked up by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALON_", "VIRTUAL_ENV"))}
    env.update(
        SALON_DATA_DIR=str(data_dir),
        SALON_SECRET_KEY="example-plugin-test-" + "k" * 32,
        SALON_CONFIG=str(data_dir / "absent.toml"),
        SALON_AUTH_RATE_LIMIT="10000",
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    uv = _uv()
    if uv is None:
        pytest.skip("uv is not installed (neither on PATH nor in .tools/bin): cannot make a venv")
    base = tmp_path_factory.mktemp("example-venv")
    target = Venv(base / "venv")
    # Every uv call names its interpreter: nothing may land in the project's own venv.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    subprocess.run(
        [uv, "venv", "-q", "--python", sys.executable, str(target.path)],
        env=env,
        check=True,
        timeout=60,
    )
    # Pin every third-party package to what the project venv has: same versions, from cache.
    frozen = subprocess.run(
        [uv, "pip", "freeze", "--python", sys.executable],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    pins = [
        line
        for line in frozen.splitlines()
        if line and not line.startswith(("-e", "salon")) and " @ " not in line
    ]
    constraints = base / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    install = [
        uv,
        "pip",
        "install",
        "-q",
        "--compile-bytecode",  # a fresh venv would otherwise compile on every first import
        "--python",
        target.bin("python"),
        "-c",
        str(constraints),
        str(ROOT / "core"),
        str(EXAMPLE),
        "pytest",
        "pytest-asyncio",
        "httpx",
    ]
    result = None
    for attempt in (["--offline"], []):  # the cache usually suffices; else ask the index
        result = subprocess.run(
            [*install, *attempt],
            env=env,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        if result.returncode == 0:
            break
    assert result is not None
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-4:])
        pytest.skip(f"could not install core + example into a fresh venv: {tail}")
    return target


def _salon(venv: Venv, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv.bin("salon"), *args],
        env=env,
        cwd=env["SALON_DATA_DIR"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_venv_is_isolated(venv: Venv) -> None:
    # Proves the checks below run against the installed wheel, not this checkout's sources.
    where = subprocess.run(
        [venv.bin("python"), "-c", "import salon, salon_example_plugin as p; print(p.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert where.startswith(str(venv.path)), where


def test_core_discovers_the_plugin_by_entry_point(venv: Venv, tmp_path: Path) -> None:
    result = _salon(venv, "plugins", "--json", env=_clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["example"]["version"] == "0.1.0"
    assert "register_storage_backends" in plugins["example"]["hooks"]
    storage = {o["name"]: o for o in data["providers"]["storage"]}
    assert storage["sharded"]["plugin"] == "example"
    assert storage["sharded"]["selected"] is False
    assert {"name": "swatches", "plugin": "example", "selected": False} in data["providers"][
        "source"
    ]


def test_selected_by_name_and_disabled_by_name(venv: Venv, tmp_path: Path) -> None:
    selected = _salon(venv, "plugins", "--json", env=_clean_env(tmp_path, SALON_STORAGE="sharded"))
    assert selected.returncode == 0, selected.stderr
    data = json.loads(selected.stdout)
    assert data["selected"]["storage"] == "sharded"
    assert {"name": "sharded", "plugin": "example", "selected": True} in data["providers"][
        "storage"
    ]
    disabled = _salon(
        venv, "plugins", "--json", env=_clean_env(tmp_path, SALON_DISABLE_PLUGINS="example")
    )
    assert disabled.returncode == 0, disabled.stderr
    names = {p["name"] for p in json.loads(disabled.stdout)["plugins"]}
    assert "example" not in names
    # Its settings are unknown once it is disabled: start-up says so and names the variable.
    rejected = _salon(
        venv,
        "plugins",
        env=_clean_env(tmp_path, SALON_DISABLE_PLUGINS="example", SALON_EXAMPLE_SHARD_WIDTH="3"),
    )
    assert rejected.returncode == 2
    assert "SALON_EXAMPLE_SHARD_WIDTH" in rejected.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(venv: Venv, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real ``salon serve`` from the venv with the example's backend selected."""
    root = tmp_path / "objects"
    env = _clean_env(tmp_path / "data", SALON_STORAGE="sharded", SALON_EXAMPLE_ROOT=str(root))
    (tmp_path / "data").mkdir()
    upgraded = _salon(venv, "db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [venv.bin("salon"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path / "data",
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail("salon serve exited: " + (tmp_path / "serve.log").read_text()[-2000:])
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        else:
            pytest.fail("salon serve did not answer /health within 60 s")
        yield base, root
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def test_serve_stores_and_serves_through_the_plugin(served: tuple[str, Path]) -> None:
    base, root = served
    credentials = {"email": "plugin-user@example.com", "password": "correct horse battery"}
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.post("/api/auth/signup", json=credentials).status_code == 201
        tokens = client.post("/api/auth/login", json=credentials).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        photo = sample_jpeg(400, 300, (30, 160, 90))
        created = client.post(
            "/api/images",
            params={"wait": "true"},
            files={"file": ("photo.jpg", photo, "image/jpeg")},
            data={"title": "through a plugin"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        image = created.json()
        # Local-path storage answers with a redirect to a signed /media/ URL the server sends.
        original = client.get(image["urls"]["original"], headers=headers, follow_redirects=True)
        assert original.status_code == 200
        assert original.content == photo
        rendition = client.get(
            image["urls"]["renditions"]["sm"], headers=headers, follow_redirects=True
        )
        assert rendition.status_code == 200 and len(rendition.content) > 0
        ready = client.get("/ready").json()
        assert ready["checks"]["storage"] == "ok"
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.read_bytes() == photo for p in files), "the upload is not in the sharded folder"
    assert all("%2F" in p.name and p.parent.parent == root for p in files)


def test_the_examples_own_tests_pass_where_it_is_installed(venv: Venv) -> None:
    result = subprocess.run(
        [venv.bin("pytest"), "-q", "-p", "no:cacheprovider", "-W", "ignore", "-rs", "tests"],
        cwd=EXAMPLE,
        env={k: v for k, v in os.environ.items() if not k.startswith("SALON_")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert "not installed" not in summary
    assert " passed" in summary
