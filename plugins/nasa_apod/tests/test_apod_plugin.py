"""The plugin as Salon loads it: entry point, hooks, settings from SALON_APOD_*, the factory,
and the ``salon apod import`` command."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import click
import pytest
import salon_nasa_apod
from click.testing import CliRunner
from salon.errors import ConfigurationError
from salon.plugins import collect_registry, make_plugin_manager
from salon.providers import ProviderContext
from salon.settings import load_core_settings, parse_plugin_settings
from salon_nasa_apod import ApodSettings, ApodSource
from salon_nasa_apod.cli import find_import_facade
from salon_nasa_apod.testing import FakeApodServer


def test_entry_point_names_the_package() -> None:
    [ep] = [ep for ep in metadata.entry_points(group="salon") if ep.name == "nasa_apod"]
    assert ep.load() is salon_nasa_apod


def _registry() -> Any:
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[salon_nasa_apod])
    return collect_registry(pm)


async def test_hooks_offer_the_source_built_from_env_settings(
    fake: FakeApodServer, tmp_path: Path
) -> None:
    registry = _registry()
    assert "apod" in registry.names("source")
    assert registry.settings_types["APOD"][0] is ApodSettings
    environ = {
        "SALON_DATA_DIR": str(tmp_path),
        "SALON_APOD_API_KEY": fake.api_key,
        "SALON_APOD_BASE_URL": fake.base_url,
        "SALON_APOD_THUMBS": "true",
        "SALON_APOD_MAX_RETRIES": "1",
    }
    core, leftovers = load_core_settings(environ, tmp_path / "absent.toml")
    parsed = parse_plugin_settings(leftovers, registry.settings_types)
    settings = parsed["APOD"]
    assert settings == ApodSettings(
        api_key=fake.api_key, base_url=fake.base_url, thumbs=True, max_retries=1
    )
    ctx = ProviderContext(core=core, settings=settings, data_dir=core.data_dir)
    source = registry.build("source", "apod", ctx)
    assert isinstance(source, ApodSource)
    assert source.max_download_bytes == core.max_upload_bytes
    try:
        [video] = await source.entries({"date": "2024-03-02"})
    finally:
        await source.aclose()
    assert video.image_url is not None  # SALON_APOD_THUMBS=true reached the source
    assert (tmp_path / "apod-cache" / "2024-03-02.json").is_file()


def test_defaults_and_bad_settings(tmp_path: Path) -> None:
    registry = _registry()
    _core, leftovers = load_core_settings({"SALON_DATA_DIR": str(tmp_path)}, tmp_path / "x.toml")
    settings = parse_plugin_settings(leftovers, registry.settings_types)["APOD"]
    assert settings.api_key == "DEMO_KEY"
    assert settings.base_url == "https://api.nasa.gov/planetary/apod"
    for bad in ({"apod_nope": "1"}, {"apod_timeout": "-1"}, {"apod_base_url": "file:///etc"}):
        with pytest.raises(ConfigurationError):
            parse_plugin_settings(bad, registry.settings_types)


def _cli() -> click.Group:
    group = click.Group("salon")
    salon_nasa_apod.register_commands(group)
    return group


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give --date, --start-date [--end-date] or --count"),
        (["--date", "1990-01-01"], "between 1995-06-16"),
        (["--count", "3", "--date", "2024-03-01"], "count cannot be combined"),
        (["--count", "101"], "between 1 and 100"),
    ],
)
def test_import_command_refuses_bad_options(args: list[str], message: str) -> None:
    result = CliRunner().invoke(_cli(), ["apod", "import", *args, "--user", "a@example.org"])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_import_command_end_to_end(fake: FakeApodServer, tmp_path: Path) -> None:
    assert find_import_facade() is not None, "the core provides salon.api.run_source_import"
    from salon.cli import cli

    env = {
        "SALON_DATA_DIR": str(tmp_path / "data"),
        "SALON_CONFIG": str(tmp_path / "absent.toml"),
        "SALON_APOD_API_KEY": fake.api_key,
        "SALON_APOD_BASE_URL": fake.base_url,
        "SALON_APOD_BACKOFF": "0",
    }
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("db", "upgrade")
    run("user", "create", "--email", "astro@example.org", "--password", "Nebula-Watcher-2024!")
    days = ["--start-date", "2024-03-01", "--end-date", "2024-03-05"]
    first = run("apod", "import", *days, "--user", "astro@example.org")
    # 03-01 (hd image) and 03-04 (url only) are images; 03-02 video, 03-05 other; 03-03 missing.
    assert "total: 4" in first and "imported: 2" in first and "not_images: 2" in first
    assert "Importing APOD" in first
    api_calls = len(fake.api_requests)
    image_calls = [s.path for s in fake.requests if s.path.startswith("/images/")]
    assert sorted(image_calls) == ["/images/2024-03-01-hd.jpg", "/images/2024-03-04.jpg"]
    again = run("apod", "import", *days, "--user", "astro@example.org")
    assert "imported: 0" in again and "skipped: 2" in again
    assert len(fake.api_requests) == api_calls  # served from the cache
    with_thumbs = run(
        "apod", "import", "--date", "2024-03-02", "--thumbs", "--user", "astro@example.org"
    )
    assert "imported: 1" in with_thumbs
    unknown = runner.invoke(
        cli, ["apod", "import", "--date", "2024-03-01", "--user", "nobody@example.org"], env=env
    )
    assert unknown.exit_code == 1 and "nobody@example.org" in unknown.output
    assert fake.api_key not in first + again + with_thumbs + unknown.output
