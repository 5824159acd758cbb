"""A listener's async work through ``salon.run_soon``, and when ``image_deleted`` fires:
moving an image to the trash does not; deleting it for good and emptying the trash do."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from salon import SalonContext, hookimpl
from salon.testing import running_app, sample_jpeg


class Forgetter:
    """On ``image_deleted``, counts the owner's remaining images with the database, from a
    coroutine the listener starts with ``run_soon``; a ``"boom"`` title makes it raise."""

    __name__ = "forgetter"

    def __init__(self) -> None:
        self.remaining: list[tuple[str, int]] = []

    @hookimpl
    def image_deleted(self, image: dict[str, Any], salon: SalonContext) -> None:
        async def count() -> None:
            if image["title"] == "boom":
                raise RuntimeError("the async work failed")
            left = await salon.images.list(image["owner_id"])
            self.remaining.append((image["id"], len(left)))

        salon.run_soon(count())


async def _settled(plugin: Forgetter, count: int) -> list[tuple[str, int]]:
    for _ in range(100):
        if len(plugin.remaining) >= count:
            break
        await asyncio.sleep(0.05)
    return plugin.remaining


async def test_trash_is_not_deletion_and_run_soon_awaits_the_database(tmp_path: Path) -> None:
    plugin = Forgetter()
    async with running_app(tmp_path, plugins=[plugin]) as app:
        headers = await app.login()
        ids = [
            (await app.upload(headers, sample_jpeg(color=(n, 0, 0)), title="t")).json()["id"]
            for n in (0, 100, 200)
        ]
        trashed = await app.client.delete(f"/api/images/{ids[0]}", headers=headers)
        assert trashed.status_code == 204
        await asyncio.sleep(0.3)
        assert plugin.remaining == []  # in the trash: not deleted, no event
        gone = await app.client.delete(
            f"/api/images/{ids[1]}", params={"permanent": "true"}, headers=headers
        )
        assert gone.status_code == 204
        assert await _settled(plugin, 1) == [(ids[1], 1)]  # only "c" is left outside the trash
        emptied = await app.client.delete("/api/images/trash", headers=headers)
        assert emptied.json()["count"] == 1
        assert await _settled(plugin, 2) == [(ids[1], 1), (ids[0], 1)]


async def test_a_failing_run_soon_is_logged_naming_the_plugin(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = Forgetter()
    async with running_app(tmp_path, plugins=[plugin]) as app:
        headers = await app.login()
        image = (await app.upload(headers, title="boom")).json()
        with caplog.at_level(logging.ERROR, logger="salon.plugin.forgetter"):
            deleted = await app.client.delete(
                f"/api/images/{image['id']}", params={"permanent": "true"}, headers=headers
            )
            assert deleted.status_code == 204
            for _ in range(100):
                if "the async work failed" in caplog.text:
                    break
                await asyncio.sleep(0.05)
        assert "plugin forgetter's run_soon work started from a listener failed" in caplog.text
        assert "the async work failed" in caplog.text
