"""Attack report 3 against a real ``salon serve``: 16 cancels of one job at once (or 20 video
requests) each held a pooled database connection while waiting for a second one, so every
request, anyone's, answered 503 after 30 s; and 12 video requests at once were all accepted
against a limit of 4 jobs per user. Now a request ends its read before it takes another
connection, and one account's job admissions take turns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from salon.testing import sample_jpeg
from serve_support import Served, salon_serve, sign_up

PARALLEL = 24
LONG = {"seconds_per_image": 30, "width": 1920, "height": 1080}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with salon_serve(tmp_path_factory.mktemp("parallel-jobs")) as running:
        yield running


async def test_parallel_job_requests_neither_stall_the_pool_nor_pass_the_limit(
    served: Served,
) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as client:
        owner, other = await sign_up(client, "eve"), await sign_up(client, "bob")
        files = {"file": ("a.jpg", sample_jpeg(640, 480, (40, 90, 160)), "image/jpeg")}
        sent = await client.post("/api/images", files=files, headers=owner)
        assert sent.status_code == 201, sent.text
        video = {"image_ids": [sent.json()["id"]], **LONG}

        started = time.monotonic()
        answers = await asyncio.gather(
            *(client.post("/api/videos", json=video, headers=owner) for _ in range(PARALLEL))
        )
        took = time.monotonic() - started
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [202] * 4 + [429] * (PARALLEL - 4), statuses
        assert took < 20, f"{PARALLEL} video requests took {took:.1f} s"
        jobs = [a.json()["job_id"] for a in answers if a.status_code == 202]

        started = time.monotonic()
        cancels, me = await asyncio.gather(
            asyncio.gather(
                *(
                    client.post(f"/api/jobs/{jobs[0]}/cancel", headers=owner)
                    for _ in range(PARALLEL)
                )
            ),
            client.get("/api/me", headers=other),
        )
        took = time.monotonic() - started
        assert sorted(c.status_code for c in cancels) == [200] * PARALLEL
        assert me.status_code == 200, me.text
        assert took < 20, f"{PARALLEL} cancels took {took:.1f} s"
        for job in jobs[1:]:
            gone = await client.post(f"/api/jobs/{job}/cancel", headers=owner)
            assert gone.status_code == 200, gone.text
