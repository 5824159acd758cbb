"""The guide's examples run as written (docs/plugins.md): the extend_app example's signed-in
route through the real app, and a plugin command through click's CliRunner on ``salon.cli.cli``
as the guide tells authors to test theirs."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import types
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
import salon
from click.testing import CliRunner
from litestar.exceptions import LitestarDeprecationWarning
from salon.cli import cli
from salon.context import plugin_context
from salon.testing import RunningApp, running_app, sample_jpeg

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"


def _example(marker: str) -> types.ModuleType:
    """The guide's python block containing ``marker``, run as a plugin module would be."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    [code] = [block for block in blocks if marker in block]
    module = types.ModuleType(f"guide_example_{abs(hash(marker))}")
    module.__dict__["hookimpl"] = salon.hookimpl  # the guide's blocks share its first import
    sys.modules[module.__name__] = module  # Litestar resolves handler annotations through it
    exec(compile(code, str(GUIDE), "exec"), module.__dict__)
    return module


async def test_extend_app_route_requires_the_signed_in_user(tmp_path: Path) -> None:
    plugin = _example("vault_mine")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with running_app(tmp_path / "data", plugins=[plugin]) as app:
            await _check_vault_routes(app, plugin.__name__)
    # The guide teaches what Litestar 3 keeps: nothing inferred.
    assert [w for w in caught if w.category is LitestarDeprecationWarning] == []


async def _check_vault_routes(app: RunningApp, plugin: str) -> None:
    anonymous = await app.client.get("/api/vault/mine")
    assert anonymous.status_code == 401, anonymous.text
    assert (await app.client.get("/api/vault/status")).json() == {"vault": "ok"}
    headers = await app.login()
    me = (await app.client.get("/api/me", headers=headers)).json()
    mine = await app.client.get("/api/vault/mine", headers=headers)
    assert mine.status_code == 200, mine.text
    assert mine.json() == {"user": me["id"], "email": me["email"]}
    note = await app.client.post("/api/vault/notes/n1", json={"text": "hi"}, headers=headers)
    assert note.json() == {"plugin": plugin, "name": "n1", "text": "hi"}, note.text


async def test_testing_example_signs_a_page_in_and_reads_a_table(tmp_path: Path) -> None:
    await _example("test_my_page_and_table").test_my_page_and_table(tmp_path)


def test_a_plugin_command_runs_under_clirunner() -> None:
    # A built-in plugin's command, found the way a third party's is (the salon entry points).
    result = CliRunner().invoke(cli, ["apod", "--help"])
    assert result.exit_code == 0, result.output
    assert "import" in result.output


def test_salon_plugins_lists_request_authenticators(tmp_path: Path) -> None:
    env = {"SALON_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["plugins", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["authenticators"] == {"api_keys": "salon.defaults.api_keys"}
    text = CliRunner().invoke(cli, ["plugins"], env=env).output
    assert re.search(r"request\s+api_keys\s+\(salon.defaults.api_keys\)", text), text


async def _finished_job(app: Any, kind: str) -> dict[str, Any]:
    from salon.db.models import Job
    from sqlalchemy import select

    async def first() -> Any:
        async with app.runtime.session_maker() as session:
            return (await session.execute(select(Job).where(Job.kind == kind))).scalars().first()

    for _ in range(300):
        job = await app.call(first)
        if job is not None and job.status in ("succeeded", "failed"):
            return {"status": job.status, "result": job.result}
        await asyncio.sleep(0.05)
    raise AssertionError(f"no finished {kind} job")


async def test_salon_object_example_listener_job_and_guarded_route(tmp_path: Path) -> None:
    plugin = _example("captions_count")
    async with running_app(tmp_path / "data", plugins=[plugin]) as app:
        assert (await app.client.get("/api/captions/count")).status_code == 401
        headers = await app.login()
        created = await app.upload(headers, sample_jpeg(64, 48))
        assert created.status_code == 201, created.text
        job = await _finished_job(app, "captions.write")
        assert job == {"status": "succeeded", "result": {"caption": "64x48"}}
        count = await app.client.get("/api/captions/count", headers=headers)
        assert count.status_code == 200 and count.json() == {"images": 1}, count.text


async def test_plugin_tables_example_reads_the_photo_log(tmp_path: Path) -> None:
    # The guide's table sketch, against the photo log example's real table.
    sketch = _example("async def owned_by")
    env = {"SALON_PHOTO_LOG_ENABLED": "true"}
    async with running_app(tmp_path / "data", env=env) as app:
        headers = await app.login()
        image = (await app.upload(headers, sample_jpeg())).json()
        me = (await app.client.get("/api/me", headers=headers)).json()
        await _finished_job(app, "photo_log.record")
        salon = plugin_context(app.runtime, "photo_log")
        assert await app.call(lambda: sketch.owned_by(salon, me["id"])) == [image["id"]]


def test_plugin_tables_transcript_is_what_salon_db_upgrade_prints(tmp_path: Path) -> None:
    """The guide's `salon db upgrade` transcript (section "Plugin tables"), with the photo log
    example installed (a workspace member): its plugin line verbatim, the core's line in
    shape (its revision moves with every core migration)."""
    section = GUIDE.read_text().split("## Plugin tables\n", 1)[1].split("\n## ", 1)[0]
    transcript = section.split("$ salon db upgrade\n", 1)[1].split("```", 1)[0]
    shown = [line.strip() for line in transcript.splitlines() if line.strip()]
    env = {
        "SALON_DATA_DIR": str(tmp_path),
        "SALON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}",
        "SALON_CONFIG": str(tmp_path / "absent.toml"),
    }
    result = CliRunner().invoke(cli, ["db", "upgrade"], env=env)
    assert result.exit_code == 0, result.output
    printed = result.output.splitlines()
    assert len(shown) == 2 and shown[1] in printed, (shown, printed)
    assert re.fullmatch(r"database at revision \d{4}", shown[0])
    assert any(re.fullmatch(r"database at revision \d{4}", line) for line in printed)
    tables = CliRunner().invoke(cli, ["plugins", "--json"], env=env)
    assert json.loads(tables.output)["tables"] == {"photo_log": "photo_log"}
    text = CliRunner().invoke(cli, ["plugins"], env=env).output
    assert re.search(r"tables\s+photo_log\s+\(photo_log\)", text), text


def test_register_job_handlers_example_registers_its_lanes() -> None:
    """The guide's register_job_handlers example: a long job in a lane of its own, the other
    short by default, as the worker and create_job read them (Runtime.lane_of)."""
    from salon.plugins import collect_registry, make_plugin_manager

    plugin = _example("make_flipbook")
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[plugin])
    registry = collect_registry(pm)
    assert {k: registry.job_lanes[k] for k in ("contact_sheet", "flipbook")} == {
        "contact_sheet": "short",
        "flipbook": "long",
    }
    assert registry.job_lanes["image.renditions"] == "short"


def test_register_migrations_example_registers_a_branch() -> None:
    from salon.plugins import collect_registry, make_plugin_manager

    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    [code] = [block for block in blocks if "def register_migrations" in block]
    module = types.ModuleType("guide_register_migrations")
    # As if the block were the photo log's __init__.py: its migrations folder is beside it.
    module.__dict__["__file__"] = str(ROOT / "examples/salon-photo-log/salon_photo_log/x.py")
    exec(compile(code, str(GUIDE), "exec"), module.__dict__)
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[module])
    [(branch, (plugin, migrations))] = collect_registry(pm).migrations.items()
    assert (branch, plugin) == ("photo_log", "guide_register_migrations")
    assert (migrations.versions / "0001_photo_log_entries.py").is_file()


async def test_backfill_example_reads_bytes_and_remakes_renditions(tmp_path: Path) -> None:
    """The guide's backfill ("An image's bytes and its renditions"): the job makes the
    renditions an image lacks over every user's images, and keep_copy stores a plugin
    object from a rendition's bytes, under the plugin's prefix, which doctor leaves alone."""
    from salon.doctor import diagnose

    plugin = _example("marks.backfill")
    async with running_app(tmp_path / "data", plugins=[plugin]) as app:
        salon = app.salon(plugin.__name__)
        headers = await app.login()
        first = (await app.upload(headers, sample_jpeg(64, 48, (9, 9, 9)))).json()
        await app.upload(await app.login(), sample_jpeg(48, 64, (90, 9, 9)))
        sm = await app.client.get(first["urls"]["renditions"]["sm"], headers=headers)
        key = await app.call(lambda: plugin.keep_copy(salon, first["id"]))
        assert key == f"{plugin.__name__}/{first['id']}.webp"
        kept = b"".join([c async for c in app.runtime.storage.open(key)])
        assert kept == sm.content
        await app.call(lambda: _drop_rendition(app, first["id"], "md"))
        job_id = await app.call(lambda: salon.queue.enqueue("marks.backfill", {}))
        job = await app.call(lambda: salon.jobs.wait(job_id, seconds=60, interval=0.1))
        assert job["result"] == {"images": 2, "renditions": 1}, job
        assert (await diagnose(app.runtime)).healthy


async def _drop_rendition(app: RunningApp, image_id: str, name: str) -> None:
    from salon.db.models import Image

    async with app.runtime.session_maker() as session:
        row = await session.get(Image, uuid.UUID(image_id))
        assert row is not None
        await app.runtime.storage.delete(row.renditions[name]["key"])


def test_backfill_example_command_queues_its_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import click
    from salon.cli import add_plugin_commands
    from salon.composition import compose
    from salon.db.migrate import upgrade
    from salon.plugins import make_plugin_manager
    from salon.runtime import build_runtime, load_settings

    plugin = _example("marks.backfill")
    url = f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
    upgrade(url)
    for name, value in {
        "SALON_DATA_DIR": str(tmp_path),
        "SALON_DATABASE_URL": url,
        "SALON_CONFIG": str(tmp_path / "absent.toml"),
    }.items():
        monkeypatch.setenv(name, value)

    def open_gallery() -> Any:
        runtime = build_runtime(*load_settings(extra_plugins=[plugin]))
        compose(runtime)
        return runtime

    group = click.Group()
    add_plugin_commands(group, make_plugin_manager(extra_plugins=[plugin]), open_gallery)
    result = CliRunner().invoke(group, ["marks-backfill"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"queued [0-9a-f-]{36}\n", result.output), result.output
    # No serve or worker here: --wait gives up at --timeout with a readable error.
    waited = CliRunner().invoke(group, ["marks-backfill", "--wait", "--timeout", "0.5"])
    assert waited.exit_code == 1, waited.output
    assert "is still queued after 0.5 s" in waited.output, waited.output
