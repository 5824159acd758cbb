"""Settings: one typed object, read once; bad values and unknown names stop start-up."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from salon.errors import ConfigurationError
from salon.settings import load_core_settings, parse_plugin_settings


def test_defaults_are_embedded(tmp_path: Path) -> None:
    core, leftovers = load_core_settings({"SALON_DATA_DIR": str(tmp_path)}, tmp_path / "none.toml")
    assert core.storage == core.auth == core.queue == "local"
    assert core.database_url == f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
    assert len(core.secret_key) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    again, _ = load_core_settings({"SALON_DATA_DIR": str(tmp_path)}, tmp_path / "none.toml")
    assert again.secret_key == core.secret_key
    assert leftovers == {}


def test_values_are_converted_and_lists_split(tmp_path: Path) -> None:
    core, _ = load_core_settings(
        {
            "SALON_DATA_DIR": str(tmp_path),
            "SALON_MAX_UPLOAD_BYTES": "1234",
            "SALON_TRACE_PLUGINS": "true",
            "SALON_DISABLE_PLUGINS": "a, b,,c",
        },
        tmp_path / "none.toml",
    )
    assert core.max_upload_bytes == 1234
    assert core.trace_plugins is True
    assert core.disable_plugins == ("a", "b", "c")


def test_proxies_and_public_url(tmp_path: Path) -> None:
    core, _ = load_core_settings(
        {
            "SALON_DATA_DIR": str(tmp_path),
            "SALON_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/16,::1",
            "SALON_PUBLIC_URL": "https://photos.example.org/",
        },
        tmp_path / "none.toml",
    )
    assert core.trusted_proxies == ("127.0.0.1", "10.0.0.0/16", "::1")
    assert core.public_url == "https://photos.example.org"
    default, _ = load_core_settings({"SALON_DATA_DIR": str(tmp_path)}, tmp_path / "none.toml")
    assert default.public_url == "" and default.trusted_proxies == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SALON_MAX_UPLOAD_BYTES", "lots"),
        ("SALON_MAX_UPLOAD_BYTES", "-1"),
        ("SALON_DOWNLOAD_MODE", "teleport"),
        ("SALON_TRUSTED_PROXIES", "10.0.0.0/8, nginx.local"),
        ("SALON_PUBLIC_URL", "photos.example.org"),
        ("SALON_LOGIN_FAILURE_LIMIT", "0"),
        ("SALON_LOGIN_DEVICE_FAILURE_LIMIT", "0"),
        ("SALON_WORKER_LONG_SLOTS", "-1"),
        ("SALON_WORKER_SHORT_SLOTS", "65"),
    ],
)
def test_bad_values_name_the_setting(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_core_settings({"SALON_DATA_DIR": str(tmp_path), name: value}, tmp_path / "none.toml")
    assert "invalid setting" in str(info.value)


def test_worker_slots_per_lane(tmp_path: Path) -> None:
    def load(**env: str) -> tuple[int, int]:
        environ = {"SALON_DATA_DIR": str(tmp_path), **env}
        core, _ = load_core_settings(environ, tmp_path / "none.toml")
        return core.worker_short_slots, core.worker_long_slots

    assert load() == (1, 1)
    assert load(SALON_WORKER_SHORT_SLOTS="3", SALON_WORKER_LONG_SLOTS="0") == (3, 0)
    with pytest.raises(ConfigurationError, match="cannot both be 0"):
        load(SALON_WORKER_SHORT_SLOTS="0", SALON_WORKER_LONG_SLOTS="0")


def test_toml_file_and_env_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "salon.toml"
    toml.write_text('storage = "s3"\nmax_upload_bytes = 99\n[s3]\nbucket = "from-file"\n')
    core, leftovers = load_core_settings(
        {"SALON_DATA_DIR": str(tmp_path), "SALON_MAX_UPLOAD_BYTES": "100"}, toml
    )
    assert core.storage == "s3" and core.max_upload_bytes == 100
    assert leftovers == {"s3_bucket": "from-file"}


class DemoSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    bucket: str = ""
    retries: int = 3


def test_plugin_settings_are_parsed_and_unknown_keys_rejected() -> None:
    declared = {"DEMO": (DemoSettings, "demo-plugin")}
    parsed = parse_plugin_settings({"demo_bucket": "b", "demo_retries": "5"}, declared)
    assert parsed["DEMO"] == DemoSettings(bucket="b", retries=5)
    with pytest.raises(ConfigurationError, match="SALON_DEMO_BUKET") as typo:
        parse_plugin_settings({"demo_buket": "typo"}, declared)
    assert "Did you mean SALON_DEMO_BUCKET?" in str(typo.value)
    with pytest.raises(ConfigurationError, match="SALON_STORGE") as core_typo:
        parse_plugin_settings({"storge": "s3"}, declared)
    assert "Did you mean SALON_STORAGE?" in str(core_typo.value)
    with pytest.raises(ConfigurationError, match="SALON_WHATEVER") as far:
        parse_plugin_settings({"whatever": "x"}, declared)
    assert "Did you mean" not in str(far.value)  # nothing close: no guess
    with pytest.raises(ConfigurationError, match="demo-plugin"):
        parse_plugin_settings({"demo_retries": "many"}, declared)


def test_test_harness_variables_are_ignored(tmp_path: Path) -> None:
    _, leftovers = load_core_settings(
        {"SALON_DATA_DIR": str(tmp_path), "SALON_TEST_POSTGRES_URL": "x"}, tmp_path / "none.toml"
    )
    assert leftovers == {}


@pytest.mark.parametrize(
    ("value", "queue", "runs"),
    [
        (None, "local", True),
        (None, "sqs", False),
        ("true", "sqs", True),
        ("false", "local", False),
        ("true", "local", True),
    ],
)
def test_inprocess_worker_unset_means_local_queue_only(
    tmp_path: Path, value: str | None, queue: str, runs: bool
) -> None:
    from salon.app import runs_inprocess_worker

    environ = {"SALON_DATA_DIR": str(tmp_path), "SALON_QUEUE": queue}
    if value is not None:
        environ["SALON_INPROCESS_WORKER"] = value
    core, _ = load_core_settings(environ, tmp_path / "none.toml")
    assert runs_inprocess_worker(core) is runs


class _VaultSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    bucket: str = ""
    timeout: int = 5

    def __post_init__(self) -> None:
        if self.timeout < 1:
            raise ValueError("timeout must be positive")


@pytest.mark.parametrize(
    ("value", "reason"), [("soon", "Expected `int`"), ("0", "timeout must be positive")]
)
def test_plugin_setting_error_names_the_variable(value: str, reason: str) -> None:
    from salon.settings import parse_plugin_settings

    declared = {"VAULT": (_VaultSettings, "vault")}
    with pytest.raises(ConfigurationError) as info:
        parse_plugin_settings({"vault_timeout": value, "vault_bucket": "b"}, declared)
    message = str(info.value)
    assert "SALON_VAULT_TIMEOUT" in message and reason in message
    assert "SALON_VAULT_BUCKET" not in message  # the one to fix, not every one set
