"""Image source imports through the real app, its queue and worker (issue 16.5), with a source
plugin of the test's own that counts what the core asks of it: the core's metadata keys win
over a source's."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from salon import hookimpl
from salon.providers import SourceEntry
from salon.testing import RunningApp, running_app, sample_jpeg


class CountingSource:
    """Two importable entries whose metadata tries to take the core's keys."""

    name = "counting"
    title = "Counting"

    def __init__(self) -> None:
        self.entries_calls = 0
        self.downloads = 0

    async def entries(self, query: Mapping[str, str]) -> Sequence[SourceEntry]:
        self.entries_calls += 1
        return [
            SourceEntry(
                external_id=f"e{n}",
                title=f"Entry {n}",
                media_type="image",
                image_url=f"memory://e{n}",
                date=dt.date(2024, 3, n),
                metadata={
                    "source": "not-counting",
                    "external_id": "forged",
                    "filename": "forged.exe",
                    "format": "GIF",
                    "explanation": f"entry number {n}",
                },
            )
            for n in (1, 2)
        ]

    async def download(self, entry: SourceEntry) -> AsyncIterator[bytes]:
        self.downloads += 1
        n = int(entry.external_id[1:])
        yield sample_jpeg(64, 48, color=(40 * n, 80, 40))


class CountingPlugin:
    __name__ = "counting-source-plugin"

    def __init__(self) -> None:
        self.source = CountingSource()

    @hookimpl
    def register_image_sources(self, register: Any) -> None:
        register("counting", lambda context: self.source)


@pytest.fixture
def plugin() -> CountingPlugin:
    return CountingPlugin()


@pytest.fixture
async def app(tmp_path: Path, plugin: CountingPlugin) -> AsyncIterator[RunningApp]:
    async with running_app(tmp_path / "data", plugins=[plugin]) as running:
        yield running


async def finished(app: RunningApp, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(300):
        job: dict[str, Any] = (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


async def test_core_metadata_keys_win_over_the_sources(
    app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await app.login()
    with caplog.at_level(logging.WARNING, logger="salon.sources"):
        started = await app.client.post("/api/sources/counting/import", json={}, headers=headers)
        assert started.status_code == 202, started.text
        job = await finished(app, started.json()["job_id"], headers)
    assert job["status"] == "succeeded", job
    assert job["result"]["imported"] == 2
    for external_id, image_id in job["result"]["image_ids"].items():
        image = (await app.client.get(f"/api/images/{image_id}", headers=headers)).json()
        meta = image["metadata"]
        assert meta["source"] == "counting"
        assert meta["external_id"] == external_id
        assert meta["format"] == "JPEG"  # what the bytes are, not what the source said
        assert "filename" not in meta
        assert meta["explanation"] == f"entry number {external_id[1:]}"  # the source's own
    # Said once per source and key, not once per entry.
    dropped = [r.getMessage() for r in caplog.records if "is the core's" in r.getMessage()]
    assert sorted(dropped) == sorted(
        f"source counting: metadata key {key!r} is the core's; the source's value is dropped "
        "(rename it in the source)"
        for key in ("source", "external_id", "filename")
    )
