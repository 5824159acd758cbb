"""Start Salon with a chosen set of plugins and talk to it, the way the core's own tests do.

    async with running_app(tmp_path, plugins=[my_plugin], env={"SALON_STORAGE": "mine"}) as app:
        headers = await app.login()
        response = await app.client.get("/api/images", headers=headers)

or use the pytest fixtures ``salon_app`` (a running app on embedded defaults, SQLite, or
PostgreSQL when ``SALON_TEST_POSTGRES_URL`` is set and the test asks for ``salon_database``
with the ``postgres`` parameter).
"""

from __future__ import annotations

import io
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from salon.app import create_app
from salon.context import SalonContext, plugin_context
from salon.db.migrate import upgrade
from salon.domain.deps import CSRF_COOKIE
from salon.domain.jobs.services import FINISHED
from salon.runtime import Runtime

T = TypeVar("T")
TEST_PASSWORD = "correct horse battery staple"  # noqa: S105 - a test fixture, not a secret


def sample_jpeg(
    width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 80, 40)
) -> bytes:
    """A small real JPEG, different for each color."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def base_environ(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    env = {
        "SALON_DATA_DIR": str(data_dir),
        "SALON_SECRET_KEY": secrets.token_urlsafe(32),
        "SALON_INPROCESS_WORKER": "true",
        "SALON_AUTH_RATE_LIMIT": "10000",
    }
    if database_url:
        env["SALON_DATABASE_URL"] = database_url
    return env


@dataclass
class RunningApp:
    app: Litestar
    client: AsyncTestClient[Litestar]
    runtime: Runtime
    data_dir: Path
    users: dict[str, dict[str, str]] = field(default_factory=dict)

    async def signup(self, email: str | None = None, password: str = TEST_PASSWORD) -> str:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        response = await self.client.post(
            "/api/auth/signup", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.text
        return email

    async def login(
        self, email: str | None = None, password: str = TEST_PASSWORD
    ) -> dict[str, str]:
        """Sign up (when ``email`` is new) and log in; returns the Authorization header."""
        if email is None or email not in self.users:
            email = await self.signup(email, password)
        response = await self.client.post(
            "/api/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        tokens = response.json()
        self.users[email] = tokens
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    async def cookie_login(
        self, email: str | None = None, password: str = TEST_PASSWORD
    ) -> dict[str, str]:
        """Sign up (when ``email`` is new) and start a browser session, as the login page does
        (``POST /api/auth/login?session=cookie``): ``client`` keeps the HttpOnly session
        cookies from then on, so page requests are signed in. Returns the ``X-CSRF-Token``
        header that cookie-authenticated writes (POST, PUT, PATCH, DELETE) must carry."""
        if email is None or email not in self.users:
            email = await self.signup(email, password)
            self.users[email] = {}
        response = await self.client.post(
            "/api/auth/login",
            params={"session": "cookie"},
            json={"email": email, "password": password},
        )
        assert response.status_code == 200, response.text
        return {"X-CSRF-Token": self.client.cookies[CSRF_COOKIE]}

    async def upload(
        self,
        headers: Mapping[str, str],
        data: bytes | None = None,
        *,
        wait: bool = True,
        **fields: str,
    ) -> Any:
        """``POST /api/images``; with ``wait`` (the default here) the answer has the
        renditions, without it the image is usually still ``processing``. An app that runs
        no jobs (``SALON_INPROCESS_WORKER=false``, no worker) gets them made here, as the
        worker's ``image.renditions`` job would, and the answer is the image read afterwards."""
        files = {"file": ("photo.jpg", data or sample_jpeg(), "image/jpeg")}
        makes_own = self.runtime.services.renditions.local
        response = await self.client.post(
            "/api/images",
            params={"wait": "true"} if wait and makes_own else {},
            files=files,
            data=fields,
            headers=dict(headers),
        )
        if not wait or makes_own or response.status_code != 201:
            return response
        image_id = response.json()["id"]
        await self.make_renditions(image_id)
        image = await self.client.get(f"/api/images/{image_id}", headers=dict(headers))
        return httpx.Response(201, headers=response.headers, content=image.content)

    async def direct_upload(
        self,
        headers: Mapping[str, str],
        data: bytes | None = None,
        *,
        filename: str = "photo.jpg",
        wait: bool = True,
    ) -> Any:
        """The direct-upload API as the web UI uses it: ``POST /api/uploads`` announces the
        file, its bytes go where the answer says (this server for the local folder, a
        presigned POST to S3 through a plain HTTP client), then ``POST
        /api/uploads/{id}/complete`` (with ``?wait=true`` by default). Returns the
        completion's answer; an announcement or a send that is refused is returned as it is."""
        data = data or sample_jpeg()
        intent = await self.client.post(
            "/api/uploads",
            json={"filename": filename, "content_type": "image/jpeg", "size": len(data)},
            headers=dict(headers),
        )
        if intent.status_code != 201:
            return intent
        body = intent.json()
        files = {"file": (filename, data, "image/jpeg")}
        if httpx.URL(body["url"]).netloc in (b"", self.client.base_url.netloc):
            sent = await self.client.post(body["url"], files=files, headers=dict(headers))
        else:
            async with httpx.AsyncClient(timeout=60) as outside:
                sent = await outside.post(body["url"], data=body.get("fields") or {}, files=files)
        if sent.status_code >= 300:
            return sent
        return await self.client.post(
            f"/api/uploads/{body['upload_id']}/complete",
            params={"wait": "true"} if wait else {},
            headers=dict(headers),
        )

    def salon(self, plugin: str) -> SalonContext:
        """The ``salon`` object of ``plugin`` in this app, the one its hooks, routes and jobs
        get: for reading its settings or tables, or queueing its jobs, from a test. Await its
        coroutines through :meth:`call` (they use the app's database pool)."""
        return plugin_context(self.runtime, plugin)

    async def call(self, work: Callable[[], Awaitable[T]]) -> T:
        """``await work()`` on the app's own event loop, where its database pool lives (with
        PostgreSQL a connection cannot cross loops): for reading a plugin's tables or using
        a plugin's ``salon`` object from a test."""
        portal = self.client.blocking_portal
        result: T = await anyio.to_thread.run_sync(lambda: portal.call(work))
        return result

    async def finished_job(
        self, job_id: str, headers: Mapping[str, str], *, seconds: float = 30.0
    ) -> dict[str, Any]:
        """``GET /api/jobs/{job_id}`` until the job has finished (``succeeded``, ``failed`` or
        ``cancelled``); the job
        as JSON. An AssertionError when it is still running after ``seconds``."""
        with anyio.move_on_after(seconds):
            while True:
                response = await self.client.get(f"/api/jobs/{job_id}", headers=dict(headers))
                job: dict[str, Any] = response.json()
                if job["status"] in FINISHED:
                    return job
                await anyio.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish within {seconds:.0f} s")

    async def make_renditions(self, image_id: str) -> str:
        """Make an image's renditions now, on the app's own event loop (its database pool
        lives there), as a worker would; returns the image's status afterwards."""
        renditions = self.runtime.services.renditions
        portal = self.client.blocking_portal
        status: str = await anyio.to_thread.run_sync(
            lambda: portal.call(renditions.process, uuid.UUID(image_id))
        )
        return status


def upgrade_plugin_tables(
    database_url: str, environ: Mapping[str, str], plugins: Sequence[object] = ()
) -> None:
    """Create the tables of the plugins the app will load (hook ``register_migrations``), as
    ``salon db upgrade`` does: the installed ones and ``plugins``, less the disabled."""
    from salon.db.plugin_tables import upgrade_plugins
    from salon.plugins import collect_registry, make_plugin_manager
    from salon.settings import load_core_settings

    core, _ = load_core_settings(environ, ensure_secret=False)
    pm = make_plugin_manager(core.disable_plugins, extra_plugins=plugins)
    upgrade_plugins(database_url, collect_registry(pm).migrations)


@asynccontextmanager
async def running_app(
    data_dir: Path,
    *,
    plugins: Sequence[object] = (),
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
) -> AsyncIterator[RunningApp]:
    """Migrate a fresh database, build the app with ``plugins`` added, and run its lifespan."""
    environ = {**base_environ(data_dir, database_url), **(env or {})}
    url = environ.get("SALON_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'salon.db'}"
    environ["SALON_DATABASE_URL"] = url
    data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    upgrade_plugin_tables(url, environ, plugins)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    app = create_app(environ=environ, extra_plugins=plugins)
    try:
        async with AsyncTestClient(app=app, base_url="http://127.0.0.1:8000") as client:
            # The app's logging config replaces the root logger's handlers, which took
            # pytest's caplog handler away: put back what the test had, and keep its lower
            # level.
            for handler in handlers:
                if handler not in root.handlers:
                    root.addHandler(handler)
            if level and level < root.level:
                root.setLevel(level)
            yield RunningApp(app, client, app.state.runtime, data_dir)
    finally:
        # And take the app's handler away again: a second running_app in the process would
        # otherwise keep this one's beside its own, and print every line twice.
        root.handlers[:] = handlers
        root.setLevel(level)


@asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import asyncpg  # type: ignore[import-untyped]

    name = f"salon_test_{uuid.uuid4().hex[:12]}"
    plain = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(plain)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
