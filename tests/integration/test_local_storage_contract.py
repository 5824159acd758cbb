"""The built-in local storage backend against the StorageContract suite."""

from __future__ import annotations

from pathlib import Path

import pytest
from salon.defaults.local_storage import LocalStorage
from salon.testing.contracts.storage import StorageContract


class TestLocalStorageContract(StorageContract):
    @pytest.fixture
    def storage(self, tmp_path: Path) -> LocalStorage:
        return LocalStorage(tmp_path / "media")
