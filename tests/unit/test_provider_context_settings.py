"""``ProviderContext.settings_as``: the typed way a factory reads its plugin's settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from salon.providers import ProviderContext
from salon.settings import CoreSettings


@dataclass
class VaultSettings:
    bucket: str = "default-bucket"


@dataclass
class OtherSettings:
    name: str = "other"


def _context(tmp_path: Path, settings: object) -> ProviderContext:
    return ProviderContext(
        core=CoreSettings(data_dir=tmp_path), settings=settings, data_dir=tmp_path
    )


def test_returns_the_registered_settings_typed(tmp_path: Path) -> None:
    parsed = VaultSettings(bucket="photos")
    assert _context(tmp_path, parsed).settings_as(VaultSettings) is parsed


def test_all_defaults_when_nothing_was_set(tmp_path: Path) -> None:
    assert _context(tmp_path, None).settings_as(VaultSettings).bucket == "default-bucket"


def test_another_type_is_a_type_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="OtherSettings"):
        _context(tmp_path, OtherSettings()).settings_as(VaultSettings)


def test_untyped_reads_still_work(tmp_path: Path) -> None:
    # Plugins written before settings_as read the attribute directly; that keeps working.
    context = _context(tmp_path, VaultSettings(bucket="old-style"))
    settings = context.settings
    assert isinstance(settings, VaultSettings)
    assert settings.bucket == "old-style"
