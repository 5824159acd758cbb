"""The ``sharded`` backend passes Salon's StorageBackend contract suite."""

from __future__ import annotations

from pathlib import Path

import pytest

# Skips, saying why, where the plugin is not installed (e.g. the Salon workspace's own venv;
# Salon's tests/integration/test_example_plugin.py installs it in a fresh venv and runs these).
pytest.importorskip(
    "salon_example_plugin", reason="salon-example-plugin is not installed in this environment"
)

from salon.testing import StorageContract
from salon_example_plugin import ShardedStorage
from salon_example_plugin.keys import shard_of


class TestShardedStorage(StorageContract):
    # Smaller than the default 64 MiB: still 1.5x the memory budget, so buffering would show.
    large_object_size = 24 * 1024 * 1024

    @pytest.fixture
    def storage(self, tmp_path: Path) -> ShardedStorage:
        return ShardedStorage(tmp_path / "objects", shard_width=2)


async def test_objects_are_flat_files_in_shards(tmp_path: Path) -> None:
    from salon.testing import chunks_of

    storage = ShardedStorage(tmp_path, shard_width=3)
    await storage.put("originals/u1/photo.jpg", chunks_of(b"jpeg"), content_type="image/jpeg")
    shard = shard_of("originals/u1/photo.jpg", 3)
    assert (tmp_path / shard / "originals%2Fu1%2Fphoto.jpg").read_bytes() == b"jpeg"
    assert storage.local_path("originals/u1/photo.jpg") == tmp_path / shard / (
        "originals%2Fu1%2Fphoto.jpg"
    )


def test_overlong_keys_are_refused(tmp_path: Path) -> None:
    storage = ShardedStorage(tmp_path)
    with pytest.raises(ValueError, match="too long"):
        storage.local_path("a/" * 200 + "b")
