"""The ``salon`` object (salon.context.SalonContext) reaches every plugin-facing call, and
plugins written against the 0.1 signatures keep working beside plugins that take it.

Two plugins run in one real app: ``OldStyle`` names only the 0.1 arguments (a listener taking
``image``, a handler reading only the payload, ``extend_app(app_config)``, ``register_commands
(cli)``); ``NewStyle`` takes ``salon`` everywhere: its listener queues a job of its own kind,
whose handler reads the plugin's settings and the image through ``job.salon``, and its route
requires the signed-in user with ``require_user`` and reads images through its ``salon``."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import click
import msgspec
import pytest
from click.testing import CliRunner
from litestar import Request, get
from litestar.params import FromPath
from salon import SalonContext, hookimpl, require_user
from salon.cli import add_plugin_commands
from salon.context import plugin_context
from salon.db.migrate import upgrade
from salon.errors import Missing
from salon.plugins import make_plugin_manager
from salon.providers import JobContext, SignedInUser
from salon.testing import running_app, sample_jpeg


class Greeting(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    greeting: str = "hello"


@get("/api/old/ping", operation_id="old_ping")
async def old_ping() -> dict[str, str]:
    return {"old": "pong"}


@get("/api/ctx/me", operation_id="ctx_me", guards=[require_user])
async def ctx_me(
    salon: SalonContext, current_user: SignedInUser, request: Request[Any, Any, Any]
) -> dict[str, Any]:
    images = await salon.images.list(current_user.id)
    greeting = salon.settings_as(Greeting).greeting
    assert request.user is current_user  # Litestar's request.user, set by the guard
    return {"plugin": salon.plugin, "images": len(images), "greeting": greeting}


@get("/api/ctx/guarded", operation_id="ctx_guarded", guards=[require_user])
async def ctx_guarded(request: Request[Any, Any, Any]) -> dict[str, str]:
    # The guard alone: no current_user parameter, the user from request.user.
    return {"user": str(request.user.id)}


@get("/api/ctx/notes/{name:str}", operation_id="ctx_note")
async def ctx_note(name: FromPath[str]) -> dict[str, str]:
    # A plugin route refuses with Salon's own errors, as the guide says.
    raise Missing(f"no note named {name}")


class OldStyle:
    """0.1 signatures only."""

    __name__ = "old_style"

    def __init__(self) -> None:
        self.stored: list[str] = []
        self.deleted: list[str] = []

    @hookimpl
    def image_stored(self, image: dict[str, Any]) -> None:
        self.stored.append(image["id"])

    @hookimpl
    def image_deleted(self, image: dict[str, Any]) -> None:
        self.deleted.append(image["id"])

    @hookimpl
    def register_job_handlers(self, register: Any) -> None:
        async def double(job: JobContext) -> dict[str, int]:
            return {"doubled": 2 * int(job.payload["n"])}

        register("old_style.double", double)

    @hookimpl
    def extend_app(self, app_config: Any) -> None:
        app_config.route_handlers.append(old_ping)

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command("old-hello")
        def old_hello() -> None:
            click.echo("old hello")


class NewStyle:
    """Takes ``salon`` wherever it is offered."""

    __name__ = "new_style"

    def __init__(self) -> None:
        self.contexts: list[SalonContext] = []
        self.deleted: list[tuple[str, str]] = []

    @hookimpl
    def register_settings(self, register: Any) -> None:
        register("CTXTEST", Greeting)

    @hookimpl
    def image_stored(self, image: dict[str, Any], salon: SalonContext) -> None:
        self.contexts.append(salon)
        salon.queue.enqueue_soon(
            "new_style.describe", {"image_id": image["id"]}, owner_id=image["owner_id"]
        )

    @hookimpl
    def image_deleted(self, image: dict[str, Any], salon: SalonContext) -> None:
        self.deleted.append((image["id"], salon.plugin))

    @hookimpl
    def register_job_handlers(self, register: Any) -> None:
        async def describe(job: JobContext) -> dict[str, Any]:
            image = await job.salon.images.get(job.payload["image_id"], owner_id=job.owner_id)
            assert image is not None
            greeting = job.salon.settings_as(Greeting).greeting
            return {"text": f"{greeting} {image['title']}", "plugin": job.salon.plugin}

        register("new_style.describe", describe)

    @hookimpl
    def extend_app(self, app_config: Any, salon: SalonContext) -> None:
        assert salon.plugin == "new_style"
        app_config.route_handlers.extend([ctx_me, ctx_guarded, ctx_note])

    @hookimpl
    def register_commands(self, cli: click.Group, salon: SalonContext) -> None:
        @cli.command("new-hello")
        def new_hello() -> None:
            async def albums() -> int:
                return len(await salon.albums.list(uuid.uuid4()))

            count = salon.run(albums)
            greeting = salon.settings_as(Greeting).greeting
            click.echo(f"{greeting} from {salon.plugin}: {count} albums")


async def _job(app: Any, headers: dict[str, str], kind: str) -> dict[str, Any]:
    """The newest job of ``kind`` of the signed-in user, once it finished."""
    runtime = app.runtime
    from salon.db.models import Job
    from sqlalchemy import select

    async def newest() -> Any:
        async with runtime.session_maker() as session:
            query = select(Job).where(Job.kind == kind).order_by(Job.created_at.desc())
            return (await session.execute(query)).scalars().first()

    for _ in range(200):
        job = await app.call(newest)  # on the app's loop: its pool lives there
        if job is not None and job.status in ("succeeded", "failed"):
            answer = await app.client.get(f"/api/jobs/{job.id}", headers=headers)
            assert answer.status_code == 200, answer.text
            found: dict[str, Any] = answer.json()
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no finished {kind} job")


@pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)
async def test_old_and_new_style_plugins_side_by_side(tmp_path: Path, salon_database: str) -> None:
    old, new = OldStyle(), NewStyle()
    env = {"SALON_CTXTEST_GREETING": "bonjour"}
    async with running_app(
        tmp_path / "data", plugins=[old, new], env=env, database_url=salon_database
    ) as app:
        headers = await app.login()
        created = await app.upload(headers, sample_jpeg(), title="harbour")
        assert created.status_code == 201, created.text
        image_id = created.json()["id"]
        # Listeners: the old one got the image only, the new one its own context.
        assert old.stored == [image_id]
        assert [c.plugin for c in new.contexts] == ["new_style"]
        # The job the new listener queued ran with the plugin's settings and context.
        job = await _job(app, headers, "new_style.describe")
        assert job["status"] == "succeeded", job
        assert job["result"] == {"text": "bonjour harbour", "plugin": "new_style"}
        # An old-style handler, queued through the public queue.
        salon = plugin_context(app.runtime, "new_style")
        me = (await app.client.get("/api/me", headers=headers)).json()
        await app.call(
            lambda: salon.queue.enqueue("old_style.double", {"n": 21}, owner_id=me["id"])
        )
        assert (await _job(app, headers, "old_style.double"))["result"] == {"doubled": 42}
        # Routes: the old one as before; the new one requires the user and gets its salon.
        assert (await app.client.get("/api/old/ping")).json() == {"old": "pong"}
        anonymous = await app.client.get("/api/ctx/me")
        assert anonymous.status_code == 401, anonymous.text
        mine = await app.client.get("/api/ctx/me", headers=headers)
        assert mine.status_code == 200, mine.text
        assert mine.json() == {"plugin": "new_style", "images": 1, "greeting": "bonjour"}
        assert (await app.client.get("/api/ctx/guarded")).status_code == 401
        guarded = await app.client.get("/api/ctx/guarded", headers=headers)
        assert guarded.status_code == 200 and guarded.json() == {"user": me["id"]}, guarded.text
        deleted = await app.client.delete(
            f"/api/images/{image_id}", params={"permanent": "true"}, headers=headers
        )
        assert deleted.status_code == 204, deleted.text
        assert old.deleted == [image_id] and new.deleted == [(image_id, "new_style")]


async def test_images_and_albums_through_the_context(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", plugins=[NewStyle()]) as app:
        headers = await app.login()
        me = (await app.client.get("/api/me", headers=headers)).json()
        salon = plugin_context(app.runtime, "new_style")
        image = await salon.images.create(me["id"], sample_jpeg(color=(1, 2, 3)), title="made")
        assert image["title"] == "made" and image["owner_id"] == me["id"]
        assert (await salon.images.get(image["id"], owner_id=me["id"]))["id"] == image["id"]
        assert await salon.images.get(image["id"], owner_id=uuid.uuid4()) is None
        assert await salon.images.get("not-a-uuid") is None
        trashed = await app.client.delete(f"/api/images/{image['id']}", headers=headers)
        assert trashed.status_code == 204, trashed.text
        # In the trash: left out as list leaves it out, unless asked for.
        assert await salon.images.get(image["id"], owner_id=me["id"]) is None
        assert await salon.images.list(me["id"]) == []
        kept = await salon.images.get(image["id"], owner_id=me["id"], include_trashed=True)
        assert kept is not None and kept["trashed_at"] is not None
        restored = await app.client.post(f"/api/images/{image['id']}/restore", headers=headers)
        assert restored.status_code == 200, restored.text
        assert (await salon.images.get(image["id"]))["trashed_at"] is None
        refused = await app.client.get("/api/ctx/notes/absent")
        assert refused.status_code == 404
        assert refused.json() == {"status_code": 404, "detail": "no note named absent"}
        album = await salon.albums.create(me["id"], "  Trips ")
        assert album["name"] == "Trips"
        assert await salon.albums.add_images(album["id"], [image["id"]], owner_id=me["id"]) == 1
        assert [a["id"] for a in await salon.albums.list(me["id"])] == [album["id"]]
        assert await salon.albums.get(album["id"], owner_id=uuid.uuid4()) is None
        listed = await app.client.get(f"/api/images?album_id={album['id']}", headers=headers)
        assert image["id"] in listed.text
        with pytest.raises(ValueError, match="no job handler"):
            await salon.queue.enqueue("nobody.handles", {})
        with pytest.raises(ValueError, match="JSON"):
            await salon.queue.enqueue("new_style.describe", {"when": object()})
        assert salon.data_dir == tmp_path / "data"
        assert salon.storage is app.runtime.storage and salon.media is app.runtime.media
        assert salon.log.name == "salon.plugin.new_style"


def test_old_and_new_style_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
    upgrade(url)
    env = {
        "SALON_DATA_DIR": str(tmp_path),
        "SALON_DATABASE_URL": url,
        "SALON_CTXTEST_GREETING": "hej",
        "SALON_CONFIG": str(tmp_path / "absent.toml"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    plugins = [OldStyle(), NewStyle()]
    pm = make_plugin_manager(extra_plugins=plugins, include_entry_points=False)

    def open_gallery() -> Any:
        from salon.composition import compose
        from salon.runtime import build_runtime, load_settings

        runtime = build_runtime(*load_settings(extra_plugins=plugins))
        compose(runtime)
        return runtime

    group = click.Group()
    add_plugin_commands(group, pm, open_gallery)
    old = CliRunner().invoke(group, ["old-hello"])
    assert old.exit_code == 0 and old.output == "old hello\n", old.output
    new = CliRunner().invoke(group, ["new-hello"])
    assert new.exit_code == 0, new.output
    assert new.output == "hej from new_style: 0 albums\n"
