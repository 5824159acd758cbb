"""Plugin loading: built-ins and entry points alike, selection by name, errors that name the
plugin and hook, event listeners isolated from each other."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from salon import hookimpl
from salon.errors import ConfigurationError, PluginError
from salon.plugins import DEFAULT_PLUGINS, collect_registry, make_plugin_manager, notify
from salon.runtime import build_runtime, load_settings


class Broken:
    __name__ = "broken-plugin"

    @hookimpl
    def register_storage_backends(self, register):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")


class Twin:
    __name__ = "twin-plugin"

    @hookimpl
    def register_storage_backends(self, register):  # type: ignore[no-untyped-def]
        register("local", lambda ctx: None)


def test_built_ins_are_registered_like_plugins() -> None:
    pm = make_plugin_manager(include_entry_points=False)
    names = {name for name, _ in pm.list_name_plugin()}
    assert set(DEFAULT_PLUGINS) <= names
    registry = collect_registry(pm)
    assert {"local"} <= set(registry.names("storage"))
    assert {"local"} <= set(registry.names("auth"))
    assert {"pillow"} <= set(registry.names("media"))
    assert {"local"} <= set(registry.names("queue"))


def test_unknown_provider_fails_listing_what_exists(tmp_path: Path) -> None:
    settings, pm, registry = load_settings(
        {"SALON_DATA_DIR": str(tmp_path), "SALON_STORAGE": "nope"}
    )
    with pytest.raises(ConfigurationError) as info:
        build_runtime(settings, pm, registry)
    message = str(info.value)
    assert "SALON_STORAGE='nope'" in message
    assert "local (plugin salon.defaults.local_storage)" in message


def test_registration_error_names_plugin_and_hook() -> None:
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[Broken()])
    with pytest.raises(PluginError) as info:
        collect_registry(pm)
    assert info.value.plugin == "broken-plugin"
    assert info.value.hook == "register_storage_backends"
    assert "boom" in str(info.value)


def test_duplicate_provider_name_names_both_plugins() -> None:
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[Twin()])
    with pytest.raises(PluginError, match=r"salon\.defaults\.local_storage"):
        collect_registry(pm)


class LaneOffers:
    """Registers its job kinds with the lanes given."""

    def __init__(self, **lanes: str) -> None:
        self.lanes = lanes

    @hookimpl
    def register_job_handlers(self, register: Any) -> None:
        async def handler(job: Any) -> None: ...

        register("lanes.plain", handler)
        for kind, lane in self.lanes.items():
            register(f"lanes.{kind}", handler, lane=lane)


def test_job_kinds_are_short_unless_registered_long() -> None:
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[LaneOffers(render="long")])
    lanes = collect_registry(pm).job_lanes
    assert (lanes["lanes.plain"], lanes["lanes.render"]) == ("short", "long")
    assert lanes["source_import"] == lanes["image.renditions"] == "short"


def test_the_video_job_is_long() -> None:
    import salon_ffmpeg_video

    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[salon_ffmpeg_video])
    assert collect_registry(pm).job_lanes["video"] == "long"


def test_an_unknown_lane_names_the_plugin() -> None:
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[LaneOffers(x="medium")])
    with pytest.raises(PluginError, match="lane 'medium' is not one of short, long") as info:
        collect_registry(pm)
    assert info.value.hook == "register_job_handlers"


def test_disabled_plugins_are_not_loaded() -> None:
    pm = make_plugin_manager(["salon.defaults.local_queue"], include_entry_points=False)
    assert "local" not in collect_registry(pm).names("queue")


def test_one_failing_listener_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []

    class Bad:
        __name__ = "bad-listener"

        @hookimpl
        def image_stored(self, image):  # type: ignore[no-untyped-def]
            raise ValueError("listener failed")

    class Good:
        __name__ = "good-listener"

        @hookimpl
        def image_stored(self, image):  # type: ignore[no-untyped-def]
            seen.append(image["id"])

    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[Bad(), Good()])
    with caplog.at_level(logging.ERROR):
        notify(pm, "image_stored", image={"id": "x"}, salon=None)
    assert seen == ["x"]
    assert "bad-listener" in caplog.text and "image_stored" in caplog.text


def test_trace_logs_each_hook_call_with_timing(caplog: pytest.LogCaptureFixture) -> None:
    pm = make_plugin_manager(include_entry_points=False, trace=True)
    with caplog.at_level(logging.INFO, logger="salon.plugins.trace"):
        collect_registry(pm)
        pm.hook.register_storage_backends(register=lambda name, factory: None)
    assert "hook register_storage_backends" in caplog.text
    assert "salon.defaults.local_storage took" in caplog.text


def test_entry_point_that_fails_to_import_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    class BadEntryPoint(SimpleNamespace):
        def load(self):  # type: ignore[no-untyped-def]
            raise ImportError("No module named 'missing_dependency'")

    import salon.plugins as plugins

    monkeypatch.setattr(
        plugins, "_entry_points", lambda: [BadEntryPoint(name="fragile", value="fragile.plugin")]
    )
    with pytest.raises(PluginError) as info:
        make_plugin_manager()
    assert info.value.plugin == "fragile" and "missing_dependency" in str(info.value)
