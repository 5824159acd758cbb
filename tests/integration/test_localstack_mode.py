"""README's "local AWS" mode: the settings `deploy/localstack/run.sh start` prints are enough.

The exports of ``run.sh start`` (on the test session's LocalStack, named with
``LOCALSTACK_EXTERNAL_URL``) are the only settings given to a real ``salon serve`` on a free
port, apart from its data folder. Then, as the browser would from that page's origin: the
bucket's CORS preflight allows the origin, the presigned POST goes straight into LocalStack's
S3 and the object is in the bucket, and a video job runs through SQS, consumed by the web
process (``SALON_INPROCESS_WORKER=true``, no `salon worker`).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from salon.testing.localstack import find_run_script, free_port

pytestmark = pytest.mark.localstack
PASSWORD = "correct horse battery staple"


def exports_of_run_sh(endpoint: str) -> dict[str, str]:
    script = find_run_script()
    assert script is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOCALSTACK_", "SALON_"))}
    env["LOCALSTACK_EXTERNAL_URL"] = endpoint
    result = subprocess.run(
        ["bash", str(script), "start"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # What `eval` does with them (values are shell-quoted; these need no unquoting).
    return dict(line.removeprefix("export ").split("=", 1) for line in result.stdout.splitlines())


@pytest.fixture
def server(localstack_endpoint: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    exports = exports_of_run_sh(localstack_endpoint)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SALON_", "AWS_"))}
    env.update(exports)
    env["SALON_DATA_DIR"] = str(tmp_path / "data")
    salon = Path(sys.executable).parent / "salon"
    subprocess.run([salon, "db", "upgrade"], env=env, cwd=tmp_path, check=True, timeout=120)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [salon, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(600):
            if process.poll() is not None:
                pytest.fail(f"salon serve exited:\n{(tmp_path / 'serve.log').read_text()}")
            try:
                if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail(f"salon serve never ready:\n{(tmp_path / 'serve.log').read_text()}")
        yield url, exports
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def jpeg(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(buffer, "JPEG")
    return buffer.getvalue()


def direct_upload(api: httpx.Client, origin: str, data: bytes) -> str:
    intent = api.post(
        "/api/uploads",
        json={"filename": "beach.jpg", "content_type": "image/jpeg", "size": len(data)},
    )
    assert intent.status_code == 201, intent.text
    body = intent.json()
    # The browser's CORS preflight, from the page's origin (any port: the rule allows `*`).
    preflight = httpx.options(
        body["url"],
        headers={"Origin": origin, "Access-Control-Request-Method": body["method"]},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", origin)
    sent = httpx.post(
        body["url"],
        data=body.get("fields", {}),
        files={"file": ("beach.jpg", data, "image/jpeg")},
        headers={"Origin": origin},
        timeout=30,
    )
    assert sent.status_code in (200, 201, 204), sent.text
    assert sent.headers["access-control-allow-origin"] in ("*", origin)
    done = api.post(f"/api/uploads/{body['upload_id']}/complete")
    assert done.status_code == 201, done.text
    return str(done.json()["id"])


def test_run_sh_exports_give_s3_uploads_from_the_browser_and_jobs_via_sqs(
    server: tuple[str, dict[str, str]],
) -> None:
    url, exports = server
    endpoint = exports["AWS_ENDPOINT_URL"]
    s3 = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client("s3", endpoint_url=endpoint)
    bucket = exports["SALON_S3_BUCKET"]
    before = s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    api = httpx.Client(base_url=url, timeout=30)
    email = f"ls-{time.time_ns()}@example.com"
    assert api.post("/api/auth/signup", json={"email": email, "password": PASSWORD}).is_success
    tokens = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()
    api.headers["Authorization"] = f"Bearer {tokens['access_token']}"

    intent_url = api.post(
        "/api/uploads", json={"filename": "x.jpg", "content_type": "image/jpeg", "size": 10}
    ).json()["url"]
    assert intent_url.startswith(endpoint)  # straight to LocalStack, not through the server
    ids = [direct_upload(api, url, jpeg(c)) for c in ((200, 40, 40), (40, 40, 200))]
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0) > before

    created = api.post(
        "/api/videos",
        json={"image_ids": ids, "seconds_per_image": 1.0, "width": 320, "height": 240},
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]
    for _ in range(600):
        job = api.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    ready = api.get("/ready").json()
    assert ready["checks"]["queue"] == "ok"
