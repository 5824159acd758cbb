"""A direct upload the browser never completes is completed from its storage event (what S3
sends to the queue in production), and the browser's late completion call still succeeds."""

from __future__ import annotations

import warnings

import pytest
from salon.domain.uploads import jobs as upload_jobs
from salon.providers import Delivery, StorageEvent
from salon.testing.fixtures import RunningApp, sample_jpeg
from salon.worker import Worker, WorkerConfig, storage_event_of


async def _intent_with_object(app: RunningApp, headers: dict[str, str], data: bytes) -> dict:
    intent = (
        await app.client.post(
            "/api/uploads",
            json={"filename": "e.jpg", "content_type": "image/jpeg", "size": len(data)},
            headers=headers,
        )
    ).json()
    sent = await app.client.post(
        intent["url"], files={"file": ("e.jpg", data, "image/jpeg")}, headers=headers
    )
    assert sent.status_code == 204
    return intent


async def test_storage_event_completes_an_abandoned_upload(
    salon_app: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload_jobs, "GRACE_SECONDS", 0.0)
    headers = await salon_app.login()
    intent = await _intent_with_object(salon_app, headers, sample_jpeg(900, 600, (5, 90, 5)))
    owner = (await salon_app.client.get("/api/me", headers=headers)).json()["id"]
    # What a queue carrying the bucket's notifications (SQS) hands the worker.
    event = StorageEvent(key=f"uploads/{owner}/{intent['upload_id']}")
    delivery = Delivery(job_id="message-1", receipt="x", receive_count=1, storage_event=event)
    worker = Worker.from_runtime(salon_app.runtime, WorkerConfig())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # the typed event is not deprecated
        await worker.handle(delivery)
    items = (await salon_app.client.get("/api/images", headers=headers)).json()["items"]
    assert [i["width"] for i in items] == [900]
    late = await salon_app.client.post(
        f"/api/uploads/{intent['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert late.status_code == 200 and late.json()["id"] == items[0]["id"]


async def test_an_s3_prefixed_job_id_is_still_a_storage_event_with_a_warning(
    salon_app: RunningApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A third-party queue written before StorageEvent sends ``"s3:<key>"`` job ids: the worker
    still completes the upload and warns that the form is deprecated."""
    monkeypatch.setattr(upload_jobs, "GRACE_SECONDS", 0.0)
    headers = await salon_app.login()
    intent = await _intent_with_object(salon_app, headers, sample_jpeg(700, 500, (90, 5, 5)))
    owner = (await salon_app.client.get("/api/me", headers=headers)).json()["id"]
    legacy = Delivery(
        job_id=f"s3:uploads/{owner}/{intent['upload_id']}", receipt="x", receive_count=1
    )
    worker = Worker.from_runtime(salon_app.runtime, WorkerConfig())
    with pytest.warns(DeprecationWarning, match="StorageEvent"):
        await worker.handle(legacy)
    items = (await salon_app.client.get("/api/images", headers=headers)).json()["items"]
    assert [i["width"] for i in items] == [700]
    assert storage_event_of(Delivery(job_id="0190-a-job", receipt="x", receive_count=1)) is None


async def test_event_for_a_non_upload_key_is_ignored(salon_app: RunningApp) -> None:
    assert upload_jobs.intent_id_from_key("originals/x/ab/cd") is None
    assert upload_jobs.intent_id_from_key("uploads/owner/not-a-uuid") is None
    assert (
        upload_jobs.intent_id_from_key("prefix/uploads/owner/01a20081-b1c0-755e-b444-7a56085ee3f0")
        is not None
    )


async def test_a_completion_racing_another_answers_409(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    intent = await _intent_with_object(salon_app, headers, sample_jpeg(color=(7, 7, 70)))
    from uuid import UUID

    from salon.db.models import UploadIntent

    async with salon_app.runtime.session_maker() as session:
        row = await session.get(UploadIntent, UUID(intent["upload_id"]))
        row.status = "processing"
        await session.commit()
    busy = await salon_app.client.post(
        f"/api/uploads/{intent['upload_id']}/complete", params={"wait": "true"}, headers=headers
    )
    assert busy.status_code == 409 and "being processed" in busy.json()["detail"]
