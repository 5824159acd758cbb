"""Failure isolation in a running app: a broken image source or event listener never takes the
others, or the request, down; the log names the plugin and the hook."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from salon import hookimpl
from salon.providers import SourceEntry
from salon.testing import running_app, sample_jpeg


class WorkingSource:
    name = "working"
    title = "Working"

    async def entries(self, query: Mapping[str, str]) -> Sequence[SourceEntry]:
        return []

    async def download(self, entry: SourceEntry) -> AsyncIterator[bytes]:
        yield b""


class WorkingSourcePlugin:
    __name__ = "working-source-plugin"

    @hookimpl
    def register_image_sources(self, register: Any) -> None:
        register("working", lambda context: WorkingSource())


class BrokenSourcePlugin:
    __name__ = "broken-source-plugin"

    @hookimpl
    def register_image_sources(self, register: Any) -> None:
        def factory(context: Any) -> WorkingSource:
            raise RuntimeError("upstream credentials missing")

        register("broken", factory)


async def test_a_source_whose_factory_raises_leaves_the_others_listed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugins = [BrokenSourcePlugin(), WorkingSourcePlugin()]
    with caplog.at_level(logging.ERROR):
        async with running_app(tmp_path / "data", plugins=plugins) as app:
            headers = await app.login()
            response = await app.client.get("/api/sources", headers=headers)
            assert response.status_code == 200
            names = {source["name"] for source in response.json()}
            missing = await app.client.get("/api/sources/broken/entries", headers=headers)
    assert "working" in names
    assert "broken" not in names
    assert missing.status_code == 404
    assert "broken-source-plugin" in caplog.text
    assert "register_image_sources" in caplog.text
    assert "upstream credentials missing" in caplog.text


class Collect(logging.Handler):
    """Records of one logger. The app configures logging when it starts (which detaches
    pytest's caplog handler), so the test attaches this after start-up."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_a_raising_listener_does_not_fail_the_upload(tmp_path: Path) -> None:
    seen: list[str] = []

    class RaisingListener:
        __name__ = "raising-listener"

        @hookimpl
        def image_stored(self, image: dict[str, Any]) -> None:
            raise ValueError("listener is broken")

    class RecordingListener:
        __name__ = "recording-listener"

        @hookimpl
        def image_stored(self, image: dict[str, Any]) -> None:
            seen.append(image["id"])

    plugins = [RaisingListener(), RecordingListener()]
    collect = Collect()
    plugin_log = logging.getLogger("salon.plugins")
    async with running_app(tmp_path / "data", plugins=plugins) as app:
        plugin_log.addHandler(collect)
        try:
            headers = await app.login()
            created = await app.upload(headers, sample_jpeg(200, 150), title="still stored")
            assert created.status_code == 201, created.text
            image = created.json()
            fetched = await app.client.get(f"/api/images/{image['id']}", headers=headers)
            assert fetched.status_code == 200
        finally:
            plugin_log.removeHandler(collect)
    assert seen == [image["id"]]
    (failure,) = collect.records
    assert "raising-listener" in failure.getMessage()
    assert "image_stored" in failure.getMessage()
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "listener is broken"
