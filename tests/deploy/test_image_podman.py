"""The real image, built and run here with podman (no Docker engine, no registry).

deploy/README.md, "Building the image without Docker (podman)": its ```sh block is run as
written, with the image name and the containers.conf path made unique to this run, so it
builds deploy/docker/Dockerfile on the local Debian base (deploy/tools/build-image-podman.sh).
Then the image runs as production runs it, against the suite's PostgreSQL and LocalStack
(SALON_TEST_POSTGRES_URL, SALON_TEST_LOCALSTACK_URL; a database, bucket and queue of its own):
with a read-only root filesystem and volumes only where the image declares them:
`salon db upgrade` as a one-off container (the migrate task), the web container (`salon serve`,
no in-process worker) and the worker container (`salon worker`, same image). Checked through
HTTP: /health, /ready, sign-up and login, an upload that stays "processing" until the worker
container starts and makes its renditions, a slideshow video job (the image's ffmpeg), and both
containers stop cleanly on SIGTERM.

Only what this module made is touched: containers and the image carry a unique name and are
removed in `finally`; the shared base image (localhost/salon-base:...) is kept in podman's
store, so a second run on the same machine builds only Salon's layers.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_support import REPO
from salon.testing.localstack import free_port

pytestmark = [pytest.mark.localstack, pytest.mark.postgres, pytest.mark.timeout(1200)]

sys.path.insert(0, str(REPO / "tests" / "docs"))
from docblocks import section_blocks  # noqa: E402

SECTION = "Building the image without Docker (podman)"
DOC_IMAGE = "localhost/salon:dev"
DOC_CONF = "/tmp/salon-containers.conf"
PASSWORD = "correct horse battery staple"
# podman's defaults fail on these machines (crun: setrlimit, hybrid cgroups): runc, cgroupfs,
# and no default ulimits (in the containers.conf the README block writes).
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
# As the task definitions run it: read-only root filesystem, user 10001, and writable only
# where the image declares a VOLUME (/var/lib/salon and /tmp, empty volumes on Fargate).
AS_IN_PRODUCTION = ["--read-only", "--read-only-tmpfs=false", "--user", "10001:10001"]
RUN_ID = uuid.uuid4().hex[:10]


def podman_missing() -> str | None:
    if shutil.which("podman") is None:
        return (
            "podman is not installed (apt-get install -y podman runc debootstrap; "
            ".ci/setup-system.sh installs them in CI)"
        )
    if os.geteuid() != 0:
        # debootstrap and the chroot-isolated build need root (GitHub's runners are not: their
        # image job builds the same Dockerfile with Docker).
        return "needs root: rootful podman and debootstrap build the local base"
    info = subprocess.run(["podman", "info"], capture_output=True, text=True, timeout=120)
    if info.returncode != 0:
        return f"`podman info` fails here: {info.stderr.strip()[-300:]}"
    return None


def say(message: str) -> None:
    print(f"test_image_podman: {message}", file=sys.stderr, flush=True)


@dataclass
class Podman:
    conf: Path
    logs: Path
    started: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, "CONTAINERS_CONF": str(self.conf)}

    def __call__(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*PODMAN, *args], env=self.env(), capture_output=True, text=True, timeout=timeout
        )

    def run_detached(self, name: str, image: str, env_file: Path, *command: str) -> None:
        self.started.append(name)
        started = self(
            "run", "-d", "--name", name, "--network", "host", "--env-file", str(env_file),
            *AS_IN_PRODUCTION, image, *command,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr

    def container_logs(self, name: str) -> str:
        result = self("logs", name, timeout=60)
        return result.stdout + result.stderr

    def state(self, name: str) -> dict[str, object]:
        result = self("inspect", "--format", "{{json .State}}", name, timeout=60)
        assert result.returncode == 0, result.stderr
        state: dict[str, object] = json.loads(result.stdout)
        return state

    def remove_started(self) -> None:
        for name in self.started:
            (self.logs / f"{name}.log").write_text(self.container_logs(name))
            self("rm", "--force", "--volumes", "--time", "5", name, timeout=120)


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    reason = podman_missing()
    if reason:
        say(f"skipped: {reason}")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("podman")
    handle = Podman(conf=folder / "containers.conf", logs=folder)
    # The README block writes the same file; written here too so that every podman call of
    # this module has it whichever test runs first.
    handle.conf.write_text("[containers]\ndefault_ulimits = []\n")
    try:
        yield handle
    finally:
        handle.remove_started()


@pytest.fixture(scope="module")
def image(podman: Podman) -> Iterator[str]:
    """Salon's image, built by the README block's commands (name and conf path unique)."""
    name = f"localhost/salon-test-{RUN_ID}:latest"
    commands = [
        command.replace(DOC_IMAGE, name).replace(DOC_CONF, str(podman.conf))
        for block in section_blocks(REPO, "deploy/README.md", SECTION)
        for command in block.commands()
    ]
    assert any("build-image-podman.sh" in c for c in commands), "the block builds no image"
    try:
        for command in commands:
            began = time.monotonic()
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=REPO,
                env={k: v for k, v in os.environ.items() if k != "CONTAINERS_CONF"},
                capture_output=True,
                text=True,
                timeout=1100,
            )
            say(f"{time.monotonic() - began:.0f} s: {command.splitlines()[0]}")
            assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        yield name
    finally:
        subprocess.run(
            ["podman", "rmi", "--force", name], capture_output=True, text=True, timeout=300
        )


def postgres_admin() -> str:
    admin = os.environ.get("SALON_TEST_POSTGRES_URL")
    if not admin:
        pytest.fail("SALON_TEST_POSTGRES_URL is not set: run under tests/services.py (make test)")
    return admin


async def _create_or_drop_database(admin_url: str, name: str, *, create: bool) -> None:
    import asyncpg  # type: ignore[import-untyped]

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        if create:
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Stack:
    podman: Podman
    image: str
    env_file: Path
    url: str
    web: str
    worker: str
    bucket: str
    s3: object


@pytest.fixture(scope="module")
def stack(podman: Podman, image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A database, bucket and queue of this module's own; migrated by a one-off container;
    the web container serving on a free port. The worker container is started by the test."""
    import boto3

    endpoint = os.environ.get("SALON_TEST_LOCALSTACK_URL", "").rstrip("/")
    if not endpoint:
        pytest.fail("SALON_TEST_LOCALSTACK_URL is not set: run under tests/services.py")
    admin = postgres_admin()
    aws = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    database = f"salon_image_{RUN_ID}"
    bucket = f"salon-image-{RUN_ID}"
    queue_url = ""
    asyncio.run(_create_or_drop_database(admin, database, create=True))
    try:
        s3.create_bucket(Bucket=bucket)
        queue_url = sqs.create_queue(
            QueueName=f"salon-image-{RUN_ID}", Attributes={"VisibilityTimeout": "60"}
        )["QueueUrl"]
        port = free_port()
        env_file = tmp_path_factory.mktemp("stack") / "salon.env"
        settings = {
            **aws,
            "SALON_DATABASE_URL": f"{admin.rpartition('/')[0]}/{database}",
            "SALON_SECRET_KEY": secrets.token_urlsafe(32),
            "SALON_STORAGE": "s3",
            "SALON_S3_BUCKET": bucket,
            "SALON_QUEUE": "sqs",
            "SALON_SQS_QUEUE_URL": queue_url,
            # Production's split: the web only enqueues, the worker container runs the jobs.
            "SALON_INPROCESS_WORKER": "false",
            "SALON_AUTH_RATE_LIMIT": "10000",
        }
        env_file.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        web, worker = f"salon-test-web-{RUN_ID}", f"salon-test-worker-{RUN_ID}"

        migrate = podman(
            "run", "--rm", "--network", "host", "--env-file", str(env_file),
            *AS_IN_PRODUCTION, image, "salon", "db", "upgrade", timeout=300,
        )  # fmt: skip
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        podman.run_detached(
            web, image, env_file, "salon", "serve", "--host", "127.0.0.1", "--port", str(port)
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            running = podman.state(web).get("Running")
            if not running or time.monotonic() > deadline:
                pytest.fail(f"the web container never served:\n{podman.container_logs(web)}")
            time.sleep(0.3)
        yield Stack(podman, image, env_file, url, web, worker, bucket, s3)
    finally:
        podman.remove_started()
        podman.started.clear()
        if queue_url:
            sqs.delete_queue(QueueUrl=queue_url)
        try:
            objects = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            for item in objects:
                s3.delete_object(Bucket=bucket, Key=item["Key"])
            s3.delete_bucket(Bucket=bucket)
        except s3.exceptions.NoSuchBucket:
            pass
        asyncio.run(_create_or_drop_database(admin, database, create=False))


def jpeg(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def wait_for(
    check: Callable[[], dict[str, Any] | None],
    what: str,
    timeout: float,
    logs: Callable[[], str],
) -> dict[str, Any]:
    """``check()`` until it answers; on timeout the failure shows the logs of that moment."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f} s; logs:\n{logs()}")
        time.sleep(0.3)


def test_image_runs_as_non_root_with_the_readme_commands(podman: Podman, image: str) -> None:
    who = podman("run", "--rm", "--network", "none", image, "id", "-u")
    assert who.returncode == 0, who.stderr
    assert who.stdout.strip() == "10001"
    ffmpeg = podman(
        "run", "--rm", "--network", "none", image,
        "python", "-c", "import imageio_ffmpeg; print(imageio_ffmpeg.get_ffmpeg_exe())",
    )  # fmt: skip
    assert ffmpeg.returncode == 0 and "/opt/venv/" in ffmpeg.stdout, ffmpeg.stdout + ffmpeg.stderr


def test_web_and_worker_containers_serve_upload_and_jobs(stack: Stack) -> None:
    podman, url = stack.podman, stack.url
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    ready = httpx.get(f"{url}/ready", timeout=30)
    assert ready.status_code == 200, ready.text
    assert set(ready.json()["checks"].values()) == {"ok"}, ready.json()

    api = httpx.Client(base_url=url, timeout=30)
    email = f"podman-{RUN_ID}@example.com"
    signed_up = api.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert signed_up.status_code == 201, signed_up.text
    login = api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    api.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    assert api.get("/api/images").json()["items"] == []

    ids = []
    for color in ((200, 40, 40), (40, 40, 200)):
        files = {"file": ("photo.jpg", jpeg(color), "image/jpeg")}
        uploaded = api.post("/api/images", files=files)
        assert uploaded.status_code == 201, uploaded.text
        assert uploaded.json()["status"] == "processing"
        ids.append(uploaded.json()["id"])
    # No worker yet: the web container only enqueued the jobs.
    time.sleep(2)
    assert api.get(f"/api/images/{ids[0]}").json()["status"] == "processing"

    podman.run_detached(stack.worker, stack.image, stack.env_file, "salon", "worker")

    def renditions_ready() -> dict[str, Any] | None:
        images = [api.get(f"/api/images/{i}").json() for i in ids]
        return {"images": images} if all(i["status"] == "ready" for i in images) else None

    images = wait_for(
        renditions_ready, "the worker container made no renditions", 180,
        lambda: podman.container_logs(stack.worker),
    )["images"]  # fmt: skip
    for image in images:
        assert image["urls"]["renditions"], image
        name, path = next(iter(image["urls"]["renditions"].items()))
        rendition = api.get(path, follow_redirects=True)
        assert rendition.status_code == 200, (name, rendition.text[:300])
        assert rendition.content[:4] in (b"\xff\xd8\xff\xe0", b"\xff\xd8\xff\xe1", b"RIFF")
    keys = [o["Key"] for o in stack.s3.list_objects_v2(Bucket=stack.bucket)["Contents"]]  # type: ignore[attr-defined]
    assert len(keys) > len(ids), keys  # originals and renditions, all in this run's bucket

    created = api.post(
        "/api/videos",
        json={"image_ids": ids, "seconds_per_image": 1.0, "width": 320, "height": 240},
    )
    assert created.status_code == 202, created.text
    job_id = created.json()["job_id"]

    def job_done() -> dict[str, Any] | None:
        job: dict[str, Any] = api.get(f"/api/jobs/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_for(
        job_done, "the video job did not finish", 180, lambda: podman.container_logs(stack.worker)
    )
    assert job["status"] == "succeeded", f"{job}\n{podman.container_logs(stack.worker)}"

    # ECS stops a task with SIGTERM (the image's STOPSIGNAL), then SIGKILL after 30 s: both
    # containers must exit on their own well before that.
    for name in (stack.web, stack.worker):
        began = time.monotonic()
        stopped = podman("stop", "--time", "30", name, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        state = podman.state(name)
        took = time.monotonic() - began
        assert state["ExitCode"] in (0, 143) and took < 25, (name, state, took)
