"""Issue 17 against a real ``salon serve``: one user's backlog of media work does not refuse or
delay another user's upload, and answers given before a body is read reach the client.

Before: the backlog (``SALON_MEDIA_WORKERS + SALON_MEDIA_QUEUE`` images) was one pool, served in
arrival order, so in the hostile load run two pixel bombers filled it and the honest users got
457 uploads refused with 503 (p99 39.5 s for the rest: behind every bomb). And an answer sent
before the body was read (401, 429, 503) was often lost to a connection reset (``ReadError``).
Now each user holds at most ``SALON_MEDIA_QUEUE_PER_USER`` places, the workers take images
round-robin by owner, and the unread body is drained (up to ``SALON_DRAIN_BODY_BYTES``) before
such an answer."""

from __future__ import annotations

import asyncio
import io
import os
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from serve_support import Served, salon_serve, sign_up
from test_sec_pixel_bombs import dense_enough_bomb


def _photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (20, 140, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # One worker, room for three images in all, two of them for one user.
    settings = {"media_workers": "1", "media_queue": "2", "media_queue_per_user": "2"}
    with salon_serve(tmp_path_factory.mktemp("fairness"), **settings) as running:
        yield running


async def test_a_full_backlog_does_not_refuse_or_delay_another_user(served: Served) -> None:
    bombs = await asyncio.gather(*(asyncio.to_thread(dense_enough_bomb) for _ in range(3)))
    async with httpx.AsyncClient(base_url=served.url, timeout=120) as client:
        bomber, honest = await sign_up(client, "bomber"), await sign_up(client, "honest")

        async def bomb(data: bytes) -> httpx.Response:
            files = {"file": ("bomb.png", data, "image/png")}
            return await client.post("/api/images", files=files, headers=bomber)

        # Two bombs take the bomber's share (one decoding, taking seconds, one waiting); the
        # third waits for one of them instead of taking the last place.
        first, second = await bomb(bombs[0]), await bomb(bombs[1])
        assert (first.status_code, second.status_code) == (201, 201), second.text
        third = asyncio.create_task(bomb(bombs[2]))
        await asyncio.sleep(0.3)
        assert not third.done()
        photo = {"file": ("honest.jpg", _photo(), "image/jpeg")}
        answer = await client.post("/api/images?wait=true", files=photo, headers=honest)
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == "ready"
        # Its renditions were made before the bomber's second image (round-robin), not after
        # the bomber's whole backlog.
        waiting = await client.get(f"/api/images/{second.json()['id']}", headers=bomber)
        assert waiting.json()["status"] == "processing"
        assert (await third).status_code == 201  # the bomber's third got in once one finished


async def test_answers_before_the_body_is_read_reach_the_client(served: Served) -> None:
    """Without a token the upload is refused before its body is read; 20 in a row on one
    connection each get their 401, none a reset connection."""
    body = os.urandom(200_000)
    outcomes: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(base_url=served.url, timeout=60, limits=limits) as client:
        for _ in range(20):
            try:
                files = {"file": ("x.jpg", body, "image/jpeg")}
                outcomes[str((await client.post("/api/images", files=files)).status_code)] += 1
            except httpx.TransportError as exc:
                outcomes[type(exc).__name__] += 1
    assert outcomes == {"401": 20}


@pytest.fixture(scope="module")
def one_each(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # One worker for any image, one place in the backlog per user.
    settings = {"media_workers": "1", "media_queue_per_user": "1"}
    with salon_serve(tmp_path_factory.mktemp("light"), **settings) as running:
        yield running


async def test_a_photo_never_waits_behind_another_users_bomb(one_each: Served) -> None:
    """Before: the one media worker was decoding another account's pixel bomb, so the honest
    user's first photo waited for the whole decode, and their second upload (their share of
    the backlog full with the first) waited for it too, answering only after the bomb was
    done. Now photos (up to SALON_MEDIA_LIGHT_PIXELS) have a worker of their own."""
    bomb_bytes = await asyncio.to_thread(dense_enough_bomb)
    async with httpx.AsyncClient(base_url=one_each.url, timeout=120) as client:
        bomber, honest = await sign_up(client, "bomber"), await sign_up(client, "honest")
        files = {"file": ("bomb.png", bomb_bytes, "image/png")}
        bomb = await client.post("/api/images", files=files, headers=bomber)
        assert bomb.status_code == 201, bomb.text
        loop = asyncio.get_running_loop()
        for name in ("first.jpg", "second.jpg"):
            started = loop.time()
            photo = {"file": (name, _photo_of(name), "image/jpeg")}
            answer = await client.post("/api/images", files=photo, headers=honest)
            assert answer.status_code == 201, answer.text
            assert loop.time() - started < 3.0, f"{name} answered after {loop.time() - started}"
        # The second could only get in once the first had its renditions; the bomb that
        # started before both is still being decoded.
        left = await client.get(f"/api/images/{bomb.json()['id']}", headers=bomber)
        assert left.json()["status"] == "processing"


def _photo_of(name: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (len(name) * 10, 140, 90)).save(buffer, "JPEG")
    return buffer.getvalue()
