"""README.md, "What runs where": the LocalStack block run verbatim in a fresh clone, on a
LocalStack and a server port of its own. Then a browser signs up and uploads; the photo must
be in the S3 bucket the block named, and a video job must run through the SQS queue."""

from __future__ import annotations

import contextlib
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import PASSWORD, sign_up_and_upload, wait_ready
from .docblocks import section_blocks
from .docshell import Shell

pytestmark = [pytest.mark.docs, pytest.mark.timeout(1500)]

SECTION = "What runs where"


def _table_database(readme: str, mode: str) -> str:
    """The database column of ``mode``'s row in the README's "What runs where" table."""
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] == mode:
            return cells[4]
    raise AssertionError(f"README's table has no row for {mode!r}")


def _aws(env: dict[str, str], service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION"),
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _api(url: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return client


def _wait_job(client: httpx.Client, job_id: str, seconds: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"video job {job_id} did not finish within {seconds:.0f} s: {job}")


def test_localstack_block(clone: Path, shell: Shell, browser: Any) -> None:
    url = f"http://127.0.0.1:{shell.start_env['PORT']}"
    try:
        servers = [
            job for b in section_blocks(clone, "README.md", SECTION) for job in shell.run_block(b)
        ]
        env = shell.env()
        assert servers, "the block starts no server"
        # A data folder of its own: ./data's embedded-mode photos are not in the bucket.
        assert env.get("SALON_DATA_DIR") == "./data-localstack", env.get("SALON_DATA_DIR")
        for job in servers:
            wait_ready(url, job)
        selected = shell.capture(".venv/bin/salon plugins --json")
        assert json.loads(selected)["selected"]["queue"] == "sqs", selected
        assert json.loads(selected)["selected"]["storage"] == "s3", selected
        _check_journey(clone, url, env, browser)
        assert (clone / "data-localstack").is_dir()
    finally:
        shell.run("make localstack-stop", check=False)  # what the README says stops it


def _check_journey(clone: Path, url: str, env: dict[str, str], browser: Any) -> None:
    endpoint = env["AWS_ENDPOINT_URL"].rstrip("/")
    assert re.fullmatch(rf"http://127\.0\.0\.1:{env['LOCALSTACK_PORT']}", endpoint), endpoint
    bucket = env["SALON_S3_BUCKET"]
    ready = httpx.get(f"{url}/ready", timeout=10).json()
    assert ready["status"] == "ok", ready

    # The database the README's table promises for this mode.
    promised = _table_database((clone / "README.md").read_text(), "local AWS")
    database = env.get("SALON_DATABASE_URL", "")
    if "PostgreSQL" in promised:
        assert database.startswith("postgresql"), f"the table says {promised}, got {database!r}"
    else:
        assert "SQLite" in promised and not database.startswith("postgresql"), promised

    # The browser uploads straight into LocalStack's S3, and the photo is in the named bucket.
    email, posts = sign_up_and_upload(browser, url, "localstack")
    assert any(p.startswith(f"{endpoint}/") for p in posts), posts
    s3 = _aws(env, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys, f"bucket {bucket} is empty after the upload"

    # A video of the photo: the job goes through SQS and its MP4 lands in the bucket.
    with contextlib.closing(_api(url, email)) as client:  # _api has already used it
        images = client.get("/api/images").json()["items"]
        assert len(images) == 1, images
        created = client.post(
            "/api/videos",
            json={
                "image_ids": [images[0]["id"]],
                "seconds_per_image": 1.0,
                "width": 320,
                "height": 180,
            },
        )
        assert created.status_code == 202, created.text
        job = _wait_job(client, created.json()["job_id"])
        assert job["status"] == "succeeded", job
    queue_url = env["SALON_SQS_QUEUE_URL"]
    attributes = _aws(env, "sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["ApproximateNumberOfMessages"] == "0", attributes
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0", attributes
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.endswith(".mp4") for k in keys), keys
