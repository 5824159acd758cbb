"""Uploads answered before their renditions exist: the ``processing`` state through the API,
where the work runs (a niced pool in the web process, or a separate worker process), the
``?wait=true`` answer, backpressure, and repair after a crash between original and renditions.

The separate worker is a real ``python -m salon.worker`` subprocess on the same database and
data folder (the SQS deployment's shape, on the local queue); the crash is a real SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from salon import hookimpl
from salon.db.models import Image as ImageRow
from salon.db.models import Job, QueueMessage
from salon.domain.images.intake import LocalFile
from salon.domain.images.services import IngestItem
from salon.errors import MediaBusy
from salon.testing.fixtures import TEST_PASSWORD, RunningApp, running_app, sample_jpeg
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

HERE = Path(__file__).parent
SLOW_PLUGIN_MARKER = "stuck-started"


def photo(color: tuple[int, int, int]) -> bytes:
    return sample_jpeg(1600, 1200, color)


async def until(predicate: Any, what: str, timeout: float = 120) -> None:
    """Wait for ``predicate()`` to hold: a bound on a hang, not a speed assertion."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


async def image_json(app: RunningApp, headers: dict[str, str], image_id: str) -> dict[str, Any]:
    response = await app.client.get(f"/api/images/{image_id}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def until_ready(app: RunningApp, headers: dict[str, str], image_id: str) -> dict[str, Any]:
    async def done() -> bool:
        return (await image_json(app, headers, image_id))["status"] != "processing"

    await until(done, f"image {image_id} to leave processing")
    return await image_json(app, headers, image_id)


@asynccontextmanager
async def database(app: RunningApp) -> AsyncIterator[AsyncSession]:
    """A session of the test's own: the app's engine lives on the test client's event loop."""
    engine = create_async_engine(app.runtime.core.database_url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            yield session
    finally:
        await engine.dispose()


async def rows(app: RunningApp, model: Any) -> int:
    async with database(app) as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def stored_files(app: RunningApp) -> list[Path]:
    media = app.data_dir / "media"
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


@pytest.fixture
async def embedded(tmp_path: Path, salon_database: str) -> AsyncIterator[RunningApp]:
    async with running_app(tmp_path / "data", database_url=salon_database) as app:
        yield app


@pytest.fixture
def web_only_env() -> dict[str, str]:
    """A web process that does not run jobs: renditions go to a worker through the queue."""
    return {"SALON_INPROCESS_WORKER": "false", "SALON_LOCAL_QUEUE_POLL_INTERVAL": "0.2"}


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Any]:
    """Start ``python -m salon.worker`` subprocesses for an app (own process groups, so a
    SIGKILL reaches their media processes); any still running at the end are killed."""
    started: list[subprocess.Popen[bytes]] = []

    def start(app: RunningApp, **extra: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
        env.update(
            SALON_DATA_DIR=str(app.data_dir),
            SALON_DATABASE_URL=app.runtime.core.database_url,
            SALON_SECRET_KEY=app.runtime.core.secret_key,
            SALON_LOCAL_QUEUE_POLL_INTERVAL="0.2",
            SALON_LOCAL_QUEUE_VISIBILITY_TIMEOUT="3",
            **extra,
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
        log = (tmp_path / f"worker{len(started)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "salon.worker", "--plugin", "slow_media_plugin"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


# --------------------------------------------------------------------------- embedded


async def test_embedded_upload_is_processed_in_niced_child_processes(
    embedded: RunningApp,
) -> None:
    headers = await embedded.login()
    response = await embedded.upload(headers, photo((10, 120, 200)), wait=False)
    assert response.status_code == 201, response.text
    first = response.json()
    assert first["status"] in ("processing", "ready")
    assert (first["width"], first["height"]) == (1600, 1200)  # from the headers, at intake
    assert len(first["sha256"]) == 64
    ready = await until_ready(embedded, headers, first["id"])
    assert ready["status"] == "ready" and ready["error"] is None
    assert sorted(ready["urls"]["renditions"]) == ["lg", "md", "sm"]
    assert ready["placeholder"]
    rendition = await embedded.client.get(
        ready["urls"]["renditions"]["sm"], headers=headers, follow_redirects=True
    )
    assert rendition.status_code == 200 and rendition.content[:4] == b"RIFF"
    # The spooled body became the original and the renditions were moved out of their
    # scratch folder, which is gone (removed off the event loop): nothing left in tmp.
    assert list((embedded.data_dir / "tmp").iterdir()) == []
    pool = embedded.runtime.services.renditions.pool
    assert pool.uses_processes and pool.workers >= 1
    children = pool.child_pids()
    assert children, "the renditions were not made in a child process"
    for child in children:
        assert (
            os.getpriority(os.PRIO_PROCESS, child)
            >= os.getpriority(os.PRIO_PROCESS, 0) + embedded.runtime.core.media_nice
        )


async def test_wait_true_answers_with_renditions(embedded: RunningApp) -> None:
    headers = await embedded.login()
    response = await embedded.upload(headers, photo((200, 60, 30)), wait=True)
    assert response.status_code == 201, response.text
    image = response.json()
    assert image["status"] == "ready"
    assert sorted(image["urls"]["renditions"]) == ["lg", "md", "sm"]
    assert image["placeholder"]


async def test_a_page_read_while_processing_shows_the_image_ready_afterwards(
    embedded: RunningApp,
) -> None:
    """The ready status is recorded without a session on SQLite (one statement on the
    driver): the page cached while the image was processing must not outlive it."""
    headers = await embedded.login()
    pool = embedded.runtime.services.renditions.pool
    render, go_on = pool.render, asyncio.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        await go_on.wait()
        return await render(*args, **kwargs)

    pool.render = held  # type: ignore[method-assign]
    try:
        response = await embedded.upload(headers, photo((30, 160, 90)), wait=False)
        assert response.status_code == 201, response.text
        image_id = response.json()["id"]
        for _ in range(2):  # the second page comes from the cache
            page = (await embedded.client.get("/api/images", headers=headers)).json()
            assert [(i["id"], i["status"]) for i in page["items"]] == [(image_id, "processing")]
        go_on.set()
        await until_ready(embedded, headers, image_id)
    finally:
        go_on.set()
        pool.render = render  # type: ignore[method-assign]
    [item] = (await embedded.client.get("/api/images", headers=headers)).json()["items"]
    assert item["status"] == "ready" and sorted(item["urls"]["renditions"]) == ["lg", "md", "sm"]
    assert embedded.runtime.services.renditions._ready.supported == (
        embedded.runtime.engine.dialect.name == "sqlite"
    )


class _Stored:
    @hookimpl
    def image_stored(self, image: dict[str, Any]) -> None:
        self.images.append(image)

    def __init__(self) -> None:
        self.images: list[dict[str, Any]] = []


async def test_image_stored_gets_the_row_as_committed(tmp_path: Path, salon_database: str) -> None:
    """With a listener the ready row comes back from the UPDATE (RETURNING; on SQLite one
    statement on the driver): the event carries it as committed, once."""
    listener = _Stored()
    async with running_app(
        tmp_path / "data", plugins=[listener], database_url=salon_database
    ) as app:
        headers = await app.login()
        response = await app.upload(headers, photo((120, 40, 200)), wait=False, title="dusk")
        assert response.status_code == 201, response.text
        ready = await until_ready(app, headers, response.json()["id"])
        await until(lambda: _true(listener.images), "image_stored to fire", 30)
        me = (await app.client.get("/api/me", headers=headers)).json()
    [event] = listener.images
    assert (event["id"], event["owner_id"]) == (ready["id"], me["id"])
    assert (event["status"], event["title"]) == ("ready", "dusk")
    assert event["placeholder"] == ready["placeholder"] and event["placeholder"]
    assert sorted(event["urls"]["renditions"]) == ["lg", "md", "sm"]
    assert event["rendition_widths"] == ready["rendition_widths"]
    assert event["created_at"] == ready["created_at"]


async def _true(value: object) -> bool:
    return bool(value)


async def test_full_pool_answers_503_with_retry_after_and_stores_nothing(
    tmp_path: Path, salon_database: str
) -> None:
    env = {"SALON_MEDIA_WORKERS": "1", "SALON_MEDIA_QUEUE": "1"}
    async with running_app(tmp_path / "data", database_url=salon_database, env=env) as app:
        headers = await app.login()
        pool = app.runtime.services.renditions.pool
        assert pool.capacity == 2
        app.runtime.services.renditions.patience = 0.5  # the wait for a place (20 s)
        # Two images are waiting for their renditions (uploads of other users, say).
        held = [pool.try_reserve(), pool.try_reserve()]
        refused = await app.upload(headers, photo((1, 2, 3)), wait=False)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"].isdigit()
        assert "try again" in refused.json()["detail"]
        assert await rows(app, ImageRow) == 0 and not stored_files(app)
        for reservation in held:
            reservation.release()
        accepted = await app.upload(headers, photo((1, 2, 3)), wait=False)
        assert accepted.status_code == 201, accepted.text
        assert (await until_ready(app, headers, accepted.json()["id"]))["status"] == "ready"


async def test_no_intake_turn_answers_503_with_retry_after_and_leaves_nothing(
    tmp_path: Path, salon_database: str
) -> None:
    env = {"SALON_UPLOAD_INTAKE_CONCURRENCY": "1", "SALON_UPLOAD_INTAKE_WAIT": "0.3"}
    async with running_app(tmp_path / "data", database_url=salon_database, env=env) as app:
        headers = await app.login()
        slots = app.runtime.services.upload_slots
        other = uuid.uuid4()
        # Another user's upload is being taken in, and stays so past the wait (on the app's
        # own event loop, as a request's would be).
        holding, done = threading.Event(), threading.Event()

        async def take_in() -> None:
            async with slots.intake(other):
                holding.set()
                await anyio.to_thread.run_sync(done.wait)

        held = asyncio.create_task(app.call(take_in))
        await anyio.to_thread.run_sync(holding.wait, 30)
        try:
            refused = await app.upload(headers, photo((4, 5, 6)), wait=False)
        finally:
            done.set()
        await held
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"].isdigit()
        assert "try again" in refused.json()["detail"]
        assert await rows(app, ImageRow) == 0 and not stored_files(app)
        assert not list((app.data_dir / "tmp").iterdir())  # the received body is gone
        # A turn is held only while the original is stored: neither while the upload waits for
        # a media place nor while a ?wait=true one waits for its renditions (through the
        # service, on the app's loop: the test client serves one request at a time and blocks
        # this loop meanwhile).
        me = (await app.client.get("/api/me", headers=headers)).json()
        original = app.data_dir / "upload.jpg"
        original.write_bytes(photo((4, 5, 6)))
        result = await app.call(lambda: _ingest_waiting(app, uuid.UUID(me["id"]), original))
        assert result == (True, "ready")


async def _ingest_waiting(app: RunningApp, owner: uuid.UUID, original: Path) -> tuple[bool, str]:
    """Ingest ``original`` with ``wait`` and an intake turn, first while every media place is
    taken, then with its renditions held; returns (another upload got a turn both times, the
    image's status)."""
    slots = app.runtime.services.upload_slots
    pool = app.runtime.services.renditions.pool
    making, go_on = asyncio.Event(), asyncio.Event()
    process = pool.render  # what an upload's renditions go through on local storage

    async def slow_process(*args: Any, **kwargs: Any) -> Any:
        making.set()
        await go_on.wait()
        return await process(*args, **kwargs)

    async def turn_comes() -> bool:
        with contextlib.suppress(MediaBusy):  # no turn within SALON_UPLOAD_INTAKE_WAIT
            async with slots.intake(uuid.uuid4()):
                return True
        return False

    pool.render = slow_process  # type: ignore[method-assign]
    places = [pool.try_reserve() for _ in range(pool.capacity)]
    try:
        ingest = app.runtime.services.images.ingest_from(
            LocalFile(original), IngestItem(owner_id=owner), wait=True, turn=slots.turn(owner)
        )
        task = asyncio.create_task(ingest)
        await asyncio.sleep(0.2)
        came = await turn_comes() and not task.done()  # waiting for a place, not in a turn
        for place in places:
            place.release()
        await asyncio.wait_for(making.wait(), 30)
        came = came and await turn_comes() and not task.done()  # making renditions
        go_on.set()
        image, _created = await asyncio.wait_for(task, 60)
    finally:
        go_on.set()
        for place in places:
            place.release()
        pool.render = process  # type: ignore[method-assign]
    return came, image.status


async def test_damaged_pixels_found_after_the_answer_mark_the_image_failed(
    embedded: RunningApp,
) -> None:
    headers = await embedded.login()
    truncated = photo((90, 90, 90))[:3000]  # headers intact, pixel data cut short
    response = await embedded.upload(headers, truncated, wait=False)
    assert response.status_code == 201, response.text
    failed = await until_ready(embedded, headers, response.json()["id"])
    assert failed["status"] == "failed"
    assert "damaged" in failed["error"] or "incomplete" in failed["error"]
    assert failed["urls"]["renditions"] == {}
    deleted = await embedded.client.delete(
        f"/api/images/{failed['id']}", params={"permanent": "true"}, headers=headers
    )
    assert deleted.status_code == 204
    assert await rows(embedded, ImageRow) == 0 and not stored_files(embedded)
    # The same bytes with ?wait=true: refused as before, and nothing is left.
    waited = await embedded.upload(headers, truncated, wait=True)
    assert waited.status_code == 415, waited.text
    assert await rows(embedded, ImageRow) == 0 and not stored_files(embedded)


async def test_bytes_of_a_failed_image_sent_again_get_its_refusal(embedded: RunningApp) -> None:
    """Sent again, bytes the full decode refused got 200 ``duplicate: true`` and the Upload
    page said "Already in your library" (outside photographer, s29): they get the refusal
    the first upload would have got with ``wait``, and nothing new is kept; the failed image
    stays as it was, for its owner to see and delete."""
    headers = await embedded.login()
    truncated = photo((70, 70, 70))[:3000]
    first = await embedded.upload(headers, truncated, wait=False)
    assert first.status_code == 201, first.text
    failed = await until_ready(embedded, headers, first.json()["id"])
    assert failed["status"] == "failed"
    trashed = await embedded.client.delete(f"/api/images/{failed['id']}", headers=headers)
    assert trashed.status_code == 204
    files = sorted(stored_files(embedded))
    album = await embedded.client.post("/api/albums", json={"name": "A"}, headers=headers)
    answers = [
        await embedded.upload(headers, truncated, wait=True),
        await embedded.upload(headers, truncated, wait=False, album_id=album.json()["id"]),
        await embedded.direct_upload(headers, truncated),
    ]
    for answer in answers:
        assert answer.status_code == 415, answer.text
        assert answer.json()["reason"] == "damaged"
        assert answer.json()["detail"] == failed["error"]
    assert await rows(embedded, ImageRow) == 1 and sorted(stored_files(embedded)) == files
    again = await image_json(embedded, headers, failed["id"])
    assert again["status"] == "failed" and again["trashed_at"] is not None  # not brought back
    in_album = await embedded.client.get(
        "/api/images", params={"album_id": album.json()["id"]}, headers=headers
    )
    assert in_album.json()["items"] == []


async def test_a_failed_image_is_not_shared(embedded: RunningApp) -> None:
    """A failed image got a share link whose page was blank, and its rendition's 404 told the
    visitor to run ``salon doctor --repair`` (outside photographer, s29): no link is made
    (409, as for a photo in the trash), an album's link leaves it out, and no 404 a visitor
    sees gives admin advice."""
    headers = await embedded.login()
    response = await embedded.upload(headers, photo((60, 60, 60))[:3000], wait=False)
    failed = await until_ready(embedded, headers, response.json()["id"])
    assert failed["status"] == "failed"
    refused = await embedded.client.post(
        f"/api/images/{failed['id']}/share", json={}, headers=headers
    )
    assert refused.status_code == 409, refused.text
    assert "could not be processed" in refused.json()["detail"]

    ready = (await embedded.upload(headers, photo((10, 200, 90)))).json()
    album = (await embedded.client.post("/api/albums", json={"name": "S"}, headers=headers)).json()
    added = await embedded.client.post(
        f"/api/albums/{album['id']}/images",
        json={"image_ids": [failed["id"], ready["id"]]},
        headers=headers,
    )
    assert added.status_code == 200, added.text
    link = await embedded.client.post(f"/api/albums/{album['id']}/share", json={}, headers=headers)
    token = link.json()["token"]
    shared = (await embedded.client.get(f"/s/album/{token}")).json()
    assert [i["id"] for i in shared["images"]] == [ready["id"]] and shared["image_count"] == 1
    gone = await embedded.client.get(f"/s/album/{token}/images/{failed['id']}/renditions/lg")
    assert gone.status_code == 404

    # A rendition missing from a ready photo: the visitor is told so, not what an admin runs.
    photo_link = await embedded.client.post(
        f"/api/images/{ready['id']}/share", json={}, headers=headers
    )
    async with database(embedded) as session:
        row = await session.get(ImageRow, uuid.UUID(ready["id"]))
        assert row is not None
        row.renditions = {k: v for k, v in row.renditions.items() if k != "lg"}
        await session.commit()
    for url in (
        f"/s/{photo_link.json()['token']}/renditions/lg",
        f"/s/album/{token}/images/{ready['id']}/renditions/lg",
    ):
        missing = await embedded.client.get(url)
        assert missing.status_code == 404, missing.text
        assert "doctor" not in missing.text and "rendition" in missing.json()["detail"]
    owners = await embedded.client.get(ready["urls"]["renditions"]["lg"], headers=headers)
    assert owners.status_code == 404 and "salon doctor --repair" in owners.json()["detail"]


# --------------------------------------------------------------------------- web + worker


async def test_web_tier_never_renders_and_everything_follows_once_ready(
    tmp_path: Path, salon_database: str, web_only_env: dict[str, str], workers: Any
) -> None:
    async with running_app(tmp_path / "data", database_url=salon_database, env=web_only_env) as app:
        headers = await app.login()
        response = await app.upload(headers, photo((30, 160, 90)), wait=False, title="Beach")
        assert response.status_code == 201, response.text
        image = response.json()
        # No worker runs yet: the web process made no rendition, it queued a job.
        assert image["status"] == "processing" and image["urls"]["renditions"] == {}
        assert (image["width"], image["height"]) == (1600, 1200)
        assert image["placeholder"] is None
        async with database(app) as session:
            kinds = list(await session.scalars(select(Job.kind)))
        assert kinds == ["image.renditions"]
        assert app.runtime.services.renditions.pool.child_pids() == []

        listed = (await app.client.get("/api/images", headers=headers)).json()["items"]
        assert [(i["id"], i["status"]) for i in listed] == [(image["id"], "processing")]
        share = await app.client.post(f"/api/images/{image['id']}/share", headers=headers, json={})
        token = share.json()["token"]
        shared = (await app.client.get(f"/s/{token}")).json()
        assert shared["status"] == "processing" and shared["urls"]["renditions"] == {}

        workers(app)
        ready = await until_ready(app, headers, image["id"])
        assert ready["status"] == "ready" and ready["title"] == "Beach"
        assert sorted(ready["urls"]["renditions"]) == ["lg", "md", "sm"]
        assert ready["placeholder"]
        listed = (await app.client.get("/api/images", headers=headers)).json()["items"]
        assert [(i["id"], i["status"]) for i in listed] == [(image["id"], "ready")]
        assert listed[0]["urls"]["renditions"] == ready["urls"]["renditions"]
        shared = (await app.client.get(f"/s/{token}")).json()
        assert sorted(shared["urls"]["renditions"]) == ["lg", "md", "sm"]
        lg = await app.client.get(shared["urls"]["renditions"]["lg"], follow_redirects=True)
        assert lg.status_code == 200 and lg.content[:4] == b"RIFF"

        # A video made now starts from the large rendition (its job's input), not the original.
        video = await app.client.post(
            "/api/videos", headers=headers, json={"image_ids": [image["id"]]}
        )
        assert video.status_code == 202, video.text
        async with database(app) as session:
            job = await session.scalar(select(Job).where(Job.kind == "video"))
            row = await session.get(ImageRow, uuid.UUID(image["id"]))
        assert job is not None and row is not None
        assert job.payload["inputs"] == [row.renditions["lg"]["key"]]


async def test_worker_killed_between_original_and_renditions_is_repaired(
    tmp_path: Path, salon_database: str, web_only_env: dict[str, str], workers: Any
) -> None:
    async with running_app(tmp_path / "data", database_url=salon_database, env=web_only_env) as app:
        headers = await app.login()
        response = await app.upload(headers, photo((120, 40, 200)), wait=False)
        assert response.status_code == 201, response.text
        image_id = response.json()["id"]
        stuck = workers(app, SALON_MEDIA="stuck")
        marker = app.data_dir / SLOW_PLUGIN_MARKER

        async def mid_renditions() -> bool:
            return marker.exists()

        await until(mid_renditions, "the worker to be making the renditions")
        os.killpg(stuck.pid, signal.SIGKILL)  # the worker and its media process
        stuck.wait(10)
        left = await image_json(app, headers, image_id)
        assert left["status"] == "processing" and left["urls"]["renditions"] == {}
        # Make the loss total: the job's message is gone too (as if never queued).
        async with database(app) as session, session.begin():
            await session.execute(delete(QueueMessage))

        workers(app)  # its start-up sweep finds the image left in processing
        ready = await until_ready(app, headers, image_id)
        assert ready["status"] == "ready"
        assert sorted(ready["urls"]["renditions"]) == ["lg", "md", "sm"]
        for url in ready["urls"]["renditions"].values():
            got = await app.client.get(url, headers=headers, follow_redirects=True)
            assert got.status_code == 200


async def test_restart_repairs_images_left_processing(
    tmp_path: Path, salon_database: str, web_only_env: dict[str, str]
) -> None:
    data = tmp_path / "data"
    async with running_app(data, database_url=salon_database, env=web_only_env) as app:
        headers = await app.login()
        email = next(iter(app.users))
        response = await app.upload(headers, photo((5, 5, 250)), wait=False)
        image_id = response.json()["id"]
        async with database(app) as session, session.begin():
            await session.execute(delete(QueueMessage))  # the crash took the job with it
    # The same data, now an embedded app (it runs jobs, so it makes renditions): its start-up
    # sweep takes the image up.
    async with running_app(data, database_url=salon_database) as app:
        login = await app.client.post(
            "/api/auth/login", json={"email": email, "password": TEST_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        ready = await until_ready(app, headers, image_id)
        assert ready["status"] == "ready" and ready["placeholder"]
        assert sorted(ready["urls"]["renditions"]) == ["lg", "md", "sm"]
