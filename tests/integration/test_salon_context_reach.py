"""What an outside plugin author found missing from the ``salon`` object (the plugin walk of
issue 16), now public: the users (paged, by e-mail), all of an owner's images however many,
and jobs read by id (``jobs.get`` / ``jobs.wait``), whoever queued them; and a second
``running_app`` in one process logs each line once. An image's bytes and renditions made for
an existing image are tested in test_media_stacking.py."""

from __future__ import annotations

import functools
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from salon.testing import running_app, sample_jpeg


@pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)
async def test_users_every_image_and_jobs_by_id(tmp_path: Path, salon_database: str) -> None:
    async with running_app(tmp_path / "data", database_url=salon_database) as app:
        salon = app.salon("watermark")
        emails = [await app.signup() for _ in range(3)]
        headers = await app.login(emails[0])
        me = (await app.client.get("/api/me", headers=headers)).json()
        # GET /api/me answers the signed-in user's own id.
        assert set(me) == {"id", "email", "provider"} and me["email"] == emails[0]

        found = await app.call(lambda: salon.users.by_email(f"  {emails[0].upper()} "))
        assert found is not None and found["id"] == me["id"] and found["provider"] == "local"
        assert set(found) == {"id", "email", "provider", "created_at"}  # no credentials
        assert await app.call(lambda: salon.users.by_email("nobody@example.com")) is None
        assert (await app.call(lambda: salon.users.get(me["id"]))) == found
        assert await app.call(lambda: salon.users.get("not-a-uuid")) is None
        first = await app.call(lambda: salon.users.list(limit=2))
        rest = await app.call(lambda: salon.users.list(after=first[-1]["id"], limit=2))
        paged = [u["email"] for u in first + rest]
        assert sorted(paged) == sorted(emails) and len(rest) == 1

        async def every_user() -> list[str]:
            return [user["email"] async for user in salon.users.iterate(batch=2)]

        # One order for both: id order, oldest first (signed up in this order).
        assert await app.call(every_user) == paged == emails

        for n in range(5):
            made = sample_jpeg(40, 30, (n * 40, 10, 10))
            await app.call(functools.partial(salon.images.create, me["id"], made, title=f"{n}"))

        async def every_image() -> list[str]:
            return [image["id"] async for image in salon.images.iterate(me["id"], batch=2)]

        listed = [i["id"] for i in await app.call(lambda: salon.images.list(me["id"]))]
        everything = await app.call(every_image)
        assert len(everything) == 5 and sorted(everything) == sorted(listed)

        # A job queued with no owner: nobody sees it over HTTP, the plugin's salon does.
        payload = {"image_id": "not-an-image"}
        job_id = await app.call(lambda: salon.queue.enqueue("image.renditions", payload))
        assert (await app.client.get(f"/api/jobs/{job_id}", headers=headers)).status_code == 404
        job = await app.call(lambda: salon.jobs.wait(job_id, seconds=60, interval=0.1))
        assert job["status"] == "succeeded" and job["owner_id"] is None, job
        assert job["result"] == {"skipped": "no image id"} and job["kind"] == "image.renditions"
        assert await app.call(lambda: salon.jobs.get(uuid.uuid4())) is None
        with pytest.raises(LookupError):
            await app.call(lambda: salon.jobs.wait(uuid.uuid4(), seconds=1))


async def test_waiting_for_a_job_no_worker_takes_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No worker runs (SALON_INPROCESS_WORKER=false, no ``salon worker``): ``jobs.wait`` says
    the job is still queued, through ``on_queued`` or a warning, and gives up at its timeout."""
    env = {"SALON_INPROCESS_WORKER": "false"}
    async with running_app(tmp_path / "data", env=env) as app:
        salon = app.salon("watermark")
        payload = {"image_id": "not-an-image"}
        job_id = await app.call(lambda: salon.queue.enqueue("image.renditions", payload))
        said: list[str] = []
        with pytest.raises(TimeoutError, match=r"still queued after 0\.6 s"):
            await app.call(
                lambda: salon.jobs.wait(
                    job_id, seconds=0.6, interval=0.1, queued_warning=0.2, on_queued=said.append
                )
            )
        assert len(said) == 1, said
        assert said[0].startswith(f"job {job_id} queued for ")
        assert said[0].endswith("s: is `salon serve` or `salon worker` running?")

        with caplog.at_level(logging.WARNING, logger="salon.jobs"), pytest.raises(TimeoutError):
            await app.call(lambda: salon.jobs.wait(job_id, seconds=0.3, queued_warning=0.0))
        warned = [r.getMessage() for r in caplog.records if r.name == "salon.jobs"]
        assert len(warned) == 1 and "is `salon serve` or `salon worker` running?" in warned[0]
        job = await app.call(lambda: salon.jobs.get(job_id))
        assert job is not None and job["status"] == "queued"

        # A cancelled job has finished too: the wait ends at once (it waited out its timeout).
        from salon.domain.jobs.services import cancel_job, load_job

        async def cancel() -> None:
            row = await load_job(app.runtime.session_maker, str(job_id))
            assert row is not None and await cancel_job(app.runtime.session_maker, row)

        await app.call(cancel)
        done = await app.call(lambda: salon.jobs.wait(job_id, seconds=5, queued_warning=None))
        assert done["status"] == "cancelled" and done["error"] == "cancelled by its owner"


async def test_a_second_running_app_logs_each_line_once(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    for n in range(2):
        async with running_app(tmp_path / f"data{n}"):
            added: list[Any] = [h for h in root.handlers if h not in before]
            assert len(added) == 1, f"app {n} logs through {added}"
    assert root.handlers == before
