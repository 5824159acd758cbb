"""Photo folders for the tests: real JPEGs, a subfolder, and files the source must leave out."""

from __future__ import annotations

from pathlib import Path

import pytest
from salon.testing import sample_jpeg

NAMES = ["beach.jpg", "city.jpg", "forest.jpg", "trips/alps.jpg", "trips/coast.jpg"]


def make_folder(root: Path) -> Path:
    for index, name in enumerate(NAMES):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample_jpeg(64, 48, (40 * index, 90, 200 - 30 * index)))
    (root / ".hidden.jpg").write_bytes(sample_jpeg(8, 8))  # hidden: left out
    (root / "notes.txt").write_text("not a photo")  # not an image suffix: left out
    (root / "link.jpg").symlink_to(root / "beach.jpg")  # a link could lead anywhere: left out
    return root


@pytest.fixture
def photo_folder(tmp_path: Path) -> Path:
    return make_folder(tmp_path / "photos")


@pytest.fixture
def photo_names() -> list[str]:
    """The photos ``photo_folder`` holds, in the order the source lists them."""
    return list(NAMES)
