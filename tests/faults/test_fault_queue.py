"""The job queue refusing messages at enqueue time: ``POST /api/videos`` and
``POST /api/sources/apod/import`` answer 503, leave no job (and no video) row, and work again
as soon as the queue takes messages, on the same app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from faults_support import FaultPlugin, RefusingQueue, assert_nothing_lost, count, job_count
from salon.db.models import QueueMessage, Video
from salon.testing.fixtures import RunningApp, running_app
from salon_nasa_apod.testing import FakeApodServer


@pytest.fixture
async def queue_app(tmp_path: Path, fault_plugin: FaultPlugin) -> AsyncIterator[RunningApp]:
    with FakeApodServer() as fake:
        env = {
            "SALON_QUEUE": "refusing",
            # No worker: the jobs that do get queued stay queued, so the counts are stable.
            "SALON_INPROCESS_WORKER": "false",
            "SALON_APOD_API_KEY": fake.api_key,
            "SALON_APOD_BASE_URL": fake.base_url,
            "SALON_APOD_BACKOFF": "0",
        }
        async with running_app(tmp_path / "data", plugins=[fault_plugin], env=env) as app:
            yield app
    RefusingQueue.refuse = False


async def test_enqueue_refused_is_503_and_leaves_no_job(queue_app: RunningApp) -> None:
    headers = await queue_app.login()
    image = await queue_app.upload(headers)
    assert image.status_code == 201
    # The upload queued its own image.renditions job (made by the upload helper: no worker).
    jobs_before = await job_count(queue_app)
    messages_before = await count(queue_app, QueueMessage)
    requests = [
        ("/api/videos", {"image_ids": [image.json()["id"]], "width": 320, "height": 240}),
        ("/api/sources/apod/import", {"date": "2024-03-01"}),
    ]
    RefusingQueue.refuse = True
    for url, body in requests:
        response = await queue_app.client.post(url, json=body, headers=headers)
        assert response.status_code == 503, (url, response.text)
        assert "queue" in response.json()["detail"] and "injected" not in response.text
    assert await job_count(queue_app) == jobs_before
    assert await count(queue_app, Video) == 0
    assert await count(queue_app, QueueMessage) == messages_before
    await assert_nothing_lost(queue_app, images=1)

    RefusingQueue.refuse = False
    for url, body in requests:
        response = await queue_app.client.post(url, json=body, headers=headers)
        assert response.status_code == 202, (url, response.text)
        job = await queue_app.client.get(f"/api/jobs/{response.json()['job_id']}", headers=headers)
        assert job.status_code == 200 and job.json()["status"] == "queued"
    assert await job_count(queue_app) == jobs_before + 2
    assert await count(queue_app, QueueMessage) == messages_before + 2
    assert await count(queue_app, Video) == 1
    await assert_nothing_lost(queue_app, images=1)
