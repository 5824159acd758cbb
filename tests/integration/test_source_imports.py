"""Image source imports through the real app, its queue and worker (issue 16.5), with a source
plugin of the test's own that counts what the core asks of it, and the NASA APOD plugin against
the fake NASA API: the core's metadata keys win over a source's; an upstream 429 reaches the
client as 429 with Retry-After, and an import job waits that long and retries; an import asks
the source for its entries once (the job imports what the request got)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from salon import hookimpl
from salon.db.models import Job
from salon.errors import SourceQueryError, SourceRateLimited
from salon.providers import SourceCaller, SourceEntry, SourcePage
from salon.testing import RunningApp, running_app, sample_jpeg
from salon_nasa_apod.testing import FakeApodServer, rate_limited
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool


class CountingSource:
    """Two importable entries whose metadata tries to take the core's keys."""

    name = "counting"
    title = "Counting"

    def __init__(self) -> None:
        self.entries_calls = 0
        self.downloads = 0
        # Downloads still to refuse with a 429, and the Retry-After they give.
        self.rate_limited_downloads = 0
        self.retry_after: float | None = None
        self.refused_at: list[float] = []

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
        if self.rate_limited_downloads > 0:
            self.rate_limited_downloads -= 1
            self.refused_at.append(time.monotonic())
            raise SourceRateLimited("upstream says: slow down", self.retry_after)
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


async def test_core_metadata_keys_win_over_the_sources(
    app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    headers = await app.login()
    with caplog.at_level(logging.WARNING, logger="salon.sources"):
        started = await app.client.post("/api/sources/counting/import", json={}, headers=headers)
        assert started.status_code == 202, started.text
        job = await app.finished_job(started.json()["job_id"], headers)
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


async def test_a_rate_limited_download_retries_the_job_after_retry_after(
    app: RunningApp, plugin: CountingPlugin
) -> None:
    source = plugin.source
    # The worker's own first backoff is 2 s; the upstream asks for more, and gets it.
    source.rate_limited_downloads, source.retry_after = 1, 4.0
    headers = await app.login()
    started = await app.client.post("/api/sources/counting/import", json={}, headers=headers)
    assert started.status_code == 202, started.text
    job = await app.finished_job(started.json()["job_id"], headers)
    assert job["status"] == "succeeded", job
    assert await job_attempts(app, job["id"]) == 2
    waited = time.monotonic() - source.refused_at[0]
    assert waited >= 4.0, f"retried after {waited:.1f} s, before the upstream's Retry-After"
    assert len(job["result"]["image_ids"]) == 2
    assert source.downloads == 3  # the refused one, then each entry once


@pytest.fixture
def fake() -> AsyncIterator[FakeApodServer]:
    with FakeApodServer() as server:
        yield server


@pytest.fixture
async def apod_app(tmp_path: Path, fake: FakeApodServer) -> AsyncIterator[RunningApp]:
    env = {
        "SALON_APOD_API_KEY": fake.api_key,
        "SALON_APOD_BASE_URL": fake.base_url,
        "SALON_APOD_BACKOFF": "0",
    }
    async with running_app(tmp_path / "data", env=env) as running:
        yield running


async def scalar(app: RunningApp, query: Any) -> int:
    # An engine of our own: the app's lives on the test client's event loop.
    engine = create_async_engine(app.runtime.core.database_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            return int(await session.scalar(query) or 0)
    finally:
        await engine.dispose()


async def job_rows(app: RunningApp) -> int:
    return await scalar(app, select(func.count()).select_from(Job))


async def job_attempts(app: RunningApp, job_id: str) -> int:
    return await scalar(app, select(Job.attempts).where(Job.id == uuid.UUID(job_id)))


async def test_apod_429_is_passed_through_with_retry_after(
    apod_app: RunningApp, fake: FakeApodServer
) -> None:
    headers = await apod_app.login()
    fake.script.append(rate_limited(retry_after="3600"))
    browse = await apod_app.client.get(
        "/api/sources/apod/entries", params={"date": "2024-03-01"}, headers=headers
    )
    assert browse.status_code == 429, browse.text
    assert browse.headers["retry-after"] == "3600"
    assert "rate limited" in browse.json()["detail"]
    assert fake.api_key not in browse.text

    fake.script.append(rate_limited(retry_after="120.5"))
    started = await apod_app.client.post(
        "/api/sources/apod/import", json={"date": "2024-03-01"}, headers=headers
    )
    assert started.status_code == 429, started.text
    assert started.headers["retry-after"] == "121"
    assert await job_rows(apod_app) == 0

    # Without a Retry-After it is still a 429, not a 502.
    fake.script.extend([rate_limited()] * 4)
    bare = await apod_app.client.get(
        "/api/sources/apod/entries", params={"date": "2024-03-02"}, headers=headers
    )
    assert bare.status_code == 429, bare.text
    assert "retry-after" not in bare.headers

    fake.script.clear()
    fine = await apod_app.client.get(
        "/api/sources/apod/entries", params={"date": "2024-03-01"}, headers=headers
    )
    assert fine.status_code == 200, fine.text


async def test_an_import_asks_the_source_once(app: RunningApp, plugin: CountingPlugin) -> None:
    source = plugin.source
    headers = await app.login()
    started = await app.client.post("/api/sources/counting/import", json={}, headers=headers)
    assert started.status_code == 202, started.text
    job = await app.finished_job(started.json()["job_id"], headers)
    assert job["status"] == "succeeded", job
    assert job["result"]["imported"] == 2
    assert source.entries_calls == 1, "the job asked the source again: upstream quota spent twice"
    assert source.downloads == 2


async def test_a_job_queued_without_entries_still_asks_the_source(
    app: RunningApp, plugin: CountingPlugin
) -> None:
    # What a job queued by the previous version looks like: the query only.
    from salon.domain.jobs.services import create_job

    headers = await app.login()
    me = (await app.client.get("/api/me", headers=headers)).json()
    job = await create_job(
        app.runtime.session_maker,
        app.runtime.queue,
        kind="source_import",
        owner_id=uuid.UUID(me["id"]),
        payload={"source": "counting", "query": {}, "favorite": False},
    )
    done = await app.finished_job(str(job.id), headers)
    assert done["status"] == "succeeded", done
    assert done["result"]["imported"] == 2
    assert plugin.source.entries_calls == 1


class PagedSource:
    """Five entries, two a page, that records who asked (a ``PagedImageSource``)."""

    name = "paged"
    title = "Paged"

    def __init__(self) -> None:
        self.callers: list[SourceCaller] = []

    def _all(self) -> list[SourceEntry]:
        return [
            SourceEntry(f"p{n}", f"Page entry {n}", "image", f"memory://p{n}") for n in range(5)
        ]

    async def entries(self, query: Mapping[str, str]) -> Sequence[SourceEntry]:
        raise AssertionError("a paged source is asked through entries_page")

    async def entries_page(
        self, query: Mapping[str, str], *, cursor: str | None, caller: SourceCaller
    ) -> SourcePage:
        self.callers.append(caller)
        if "cursor" in query:
            raise AssertionError("the core takes the cursor out of the query")
        if cursor is not None and not cursor.isdigit():
            raise SourceQueryError("malformed cursor")
        start = int(cursor or 0)
        rest = self._all()[start:]
        return SourcePage(rest[:2], str(start + 2) if len(rest) > 2 else None)

    async def download(self, entry: SourceEntry) -> AsyncIterator[bytes]:
        yield sample_jpeg(32, 32, color=(int(entry.external_id[1:]) * 50, 10, 10))


class CallerSource(CountingSource):
    """A plain source whose ``entries`` names ``caller``: it gets one."""

    name = "caller"

    def __init__(self) -> None:
        super().__init__()
        self.callers: list[SourceCaller] = []

    async def entries(  # type: ignore[override]
        self, query: Mapping[str, str], *, caller: SourceCaller
    ) -> Sequence[SourceEntry]:
        self.callers.append(caller)
        return await super().entries(query)


class PagingPlugin:
    __name__ = "paging-source-plugin"

    def __init__(self) -> None:
        self.paged = PagedSource()
        self.caller = CallerSource()

    @hookimpl
    def register_image_sources(self, register: Any) -> None:
        register("paged", lambda context: self.paged)
        register("caller", lambda context: self.caller)


async def test_paged_browsing_with_the_caller(tmp_path: Path) -> None:
    plugin = PagingPlugin()
    async with running_app(tmp_path / "data", plugins=[plugin]) as app:
        headers = await app.login()
        me = (await app.client.get("/api/me", headers=headers)).json()
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(5):
            params = {"cursor": cursor} if cursor is not None else {}
            response = await app.client.get(
                "/api/sources/paged/entries", params=params, headers=headers
            )
            assert response.status_code == 200, response.text
            seen += [e["external_id"] for e in response.json()]
            cursor = response.headers.get("x-next-cursor")
            if cursor is None:
                break
        assert seen == ["p0", "p1", "p2", "p3", "p4"]
        assert {str(c.user_id) for c in plugin.paged.callers} == {me["id"]}
        assert {c.email for c in plugin.paged.callers} == {me["email"]}

        bad = await app.client.get(
            "/api/sources/paged/entries", params={"cursor": "x"}, headers=headers
        )
        assert bad.status_code == 400, bad.text
        assert bad.json()["detail"] == "malformed cursor"

        # An import takes the page its cursor names, and only that page.
        started = await app.client.post(
            "/api/sources/paged/import", json={"cursor": "2"}, headers=headers
        )
        assert started.status_code == 202, started.text
        job = await app.finished_job(started.json()["job_id"], headers)
        assert sorted(job["result"]["image_ids"]) == ["p2", "p3"]

        # A plain source whose entries() names `caller` is given it.
        plain = await app.client.get("/api/sources/caller/entries", headers=headers)
        assert plain.status_code == 200, plain.text
        assert "x-next-cursor" not in plain.headers
        assert [str(c.user_id) for c in plugin.caller.callers] == [me["id"]]

        schema = (await app.client.get("/schema/openapi.json")).json()
        documented = schema["paths"]["/api/sources/{name}/entries"]["get"]["responses"]["200"]
        assert "X-Next-Cursor" in documented["headers"]
