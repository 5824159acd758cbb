"""The plugin inside a running Salon: found by its entry point, selected by name, storing
uploads, listing its source, and its settings validated at start-up.

These run against the *installed* package (``pip install -e .``), so the app finds the plugin
by its entry point like a deployment would: no ``plugins=[...]`` argument is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip(
    "salon_example_plugin", reason="salon-example-plugin is not installed in this environment"
)

from salon.errors import ConfigurationError
from salon.testing import running_app, sample_jpeg
from salon_example_plugin import ShardedStorage


async def test_upload_and_download_through_the_sharded_backend(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    env = {"SALON_STORAGE": "sharded", "SALON_EXAMPLE_ROOT": str(root)}
    async with running_app(tmp_path / "data", env=env) as app:
        assert isinstance(app.runtime.storage, ShardedStorage)
        headers = await app.login()
        photo = sample_jpeg(320, 240, (10, 120, 200))
        created = await app.upload(headers, photo, title="sharded")
        assert created.status_code == 201, created.text
        image = created.json()
        original = await app.client.get(image["urls"]["original"], headers=headers)
        assert original.status_code == 200
        assert original.content == photo
    stored = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.read_bytes() == photo for p in stored)
    assert all(p.parent.parent == root for p in stored)  # flat files, one level of shards


async def test_swatches_are_listed_and_browsable(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        headers = await app.login()
        sources = (await app.client.get("/api/sources", headers=headers)).json()
        assert {"name": "swatches", "title": "Swatches"} in sources
        entries = await app.client.get(
            "/api/sources/swatches/entries", params={"count": "2"}, headers=headers
        )
        assert entries.status_code == 200
        assert len(entries.json()) == 2
        bad = await app.client.get(
            "/api/sources/swatches/entries", params={"count": "lots"}, headers=headers
        )
        assert bad.status_code == 400
        assert "count" in bad.json()["detail"]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SALON_EXAMPLE_SHARD_WIDTH", "9", "shard_width"),
        ("SALON_EXAMPLE_SHARD_WDTH", "2", "SALON_EXAMPLE_SHARD_WDTH"),
    ],
)
async def test_bad_settings_stop_start_up(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigurationError, match=expected):
        async with running_app(tmp_path / "data", env={name: value}):
            pass
