"""Attack report 4 against a real ``salon serve``: two dozen parallel requests adding the same
photos to an album (or sharing it with the same person) raced on the unique pair, and one or
two of them answered 500. Now each answers as if it came alone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from salon.testing import sample_jpeg
from serve_support import Served, salon_serve, sign_up

PARALLEL = 24


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with salon_serve(tmp_path_factory.mktemp("parallel-albums")) as running:
        yield running


async def test_parallel_album_adds_answer_as_one_would(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=60) as client:
        owner = await sign_up(client, "owner")
        friend_email = f"friend-{id(client)}@example.com"
        await client.post(
            "/api/auth/signup", json={"email": friend_email, "password": "friend horse staple 9"}
        )
        ids = []
        for shade in (10, 200):
            files = {"file": ("a.jpg", sample_jpeg(64, 48, (shade, 9, 9)), "image/jpeg")}
            sent = await client.post("/api/images", files=files, headers=owner)
            assert sent.status_code == 201, sent.text
            ids.append(sent.json()["id"])
        album = await client.post("/api/albums", json={"name": "race"}, headers=owner)
        assert album.status_code == 201, album.text
        path = f"/api/albums/{album.json()['id']}"

        adds = await asyncio.gather(
            *(
                client.post(f"{path}/images", json={"image_ids": ids}, headers=owner)
                for _ in range(PARALLEL)
            )
        )
        assert {a.status_code for a in adds} == {200}, [a.text for a in adds]
        assert all(a.json()["image_count"] == 2 for a in adds), [a.json() for a in adds]

        members = await asyncio.gather(
            *(
                client.post(f"{path}/members", json={"email": friend_email}, headers=owner)
                for _ in range(PARALLEL)
            )
        )
        codes = {m.status_code for m in members}
        assert codes == {201}, [m.text for m in members]
        listed = await client.get(f"{path}/members", headers=owner)
        assert [m["email"] for m in listed.json()] == [friend_email], listed.text
