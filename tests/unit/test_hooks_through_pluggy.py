"""Hooks run through pluggy (issue 16.7): tryfirst/trylast order, wrapper=True implementations
wrapping the call, pluggy's monitor (SALON_TRACE_PLUGINS) seeing every call, one plugin's
failure isolated from the next and named, provider methods traced, and the guide's trace line
produced verbatim by the command it shows."""

from __future__ import annotations

import logging
import os
import pickle
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest
from salon import hookimpl
from salon.errors import PluginError
from salon.plugins import TracedProvider, call_each, make_plugin_manager, notify
from salon.runtime import build_runtime, load_settings

REPO = Path(__file__).resolve().parents[2]


def _plugins(seen: list[str]) -> list[object]:
    class First:
        __name__ = "first"

        @hookimpl(tryfirst=True)
        def image_stored(self, image: dict[str, Any]) -> None:
            seen.append("first")

    class Middle:
        __name__ = "middle"

        @hookimpl
        def image_stored(self, image: dict[str, Any]) -> None:
            seen.append("middle")

    class Last:
        __name__ = "last"

        @hookimpl(trylast=True)
        def image_stored(self, image: dict[str, Any]) -> None:
            seen.append("last")

    # Registered in the opposite order to the one pluggy must run them in.
    return [Last(), Middle(), First()]


def test_notify_runs_tryfirst_first_and_trylast_last() -> None:
    seen: list[str] = []
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=_plugins(seen))
    notify(pm, "image_stored", image={"id": "x"}, salon=None)
    assert seen == ["first", "middle", "last"]


def test_wrapper_impl_wraps_each_call_and_sees_failures() -> None:
    events: list[str] = []

    class Wrapper:
        __name__ = "wrapper"

        @hookimpl(wrapper=True)
        def extend_app(self, app_config: object) -> Generator[None, Any, Any]:
            events.append("before")
            try:
                return (yield)
            except ValueError:
                events.append("saw failure")
                raise
            finally:
                events.append("after")

    class Bad:
        __name__ = "bad-extender"

        @hookimpl
        def extend_app(self, app_config: object) -> None:
            raise ValueError("no")

    class Good:
        __name__ = "good-extender"

        @hookimpl
        def extend_app(self, app_config: object) -> str:
            events.append("good")
            return "ok"

    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[Good(), Bad(), Wrapper()])
    with pytest.raises(PluginError) as info:
        call_each(pm, "extend_app", app_config=object(), salon=None)
    assert info.value.plugin == "bad-extender" and info.value.hook == "extend_app"
    # The wrapper ran as a generator around each plugin (not called as a plain function), the
    # failing one did not stop the good one, which pluggy calls last (registered first).
    assert events.count("before") == events.count("after") >= 2
    assert events.count("saw failure") == 1 and events.count("good") == 1
    assert events.index("saw failure") < events.index("good")


def test_old_style_listener_naming_fewer_arguments_still_called() -> None:
    seen: list[Any] = []

    class Old:
        __name__ = "old"

        @hookimpl
        def image_stored(self) -> None:  # names none of the hook's arguments
            seen.append("called")

    pm = make_plugin_manager(include_entry_points=False, extra_plugins=[Old()])
    notify(pm, "image_stored", image={"id": "x"}, salon=None)
    assert seen == ["called"]


def test_monitor_fires_for_each_plugin_call(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[str] = []
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=_plugins(seen), trace=True)
    with caplog.at_level(logging.INFO, logger="salon.plugins.trace"):
        notify(pm, "image_stored", image={"id": "x"}, salon=None)
    lines = [r.getMessage() for r in caplog.records if r.name == "salon.plugins.trace"]
    assert [line for line in lines if "(image, salon) ->" in line] == [
        "hook image_stored(image, salon) -> first",
        "hook image_stored(image, salon) -> middle",
        "hook image_stored(image, salon) -> last",
    ]
    timing = re.compile(r"hook image_stored in plugin last took \d+\.\d\d ms")
    assert any(timing.fullmatch(line) for line in lines)


async def _chunks() -> AsyncIterator[bytes]:
    yield b"traced bytes"


async def test_provider_methods_are_traced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings, pm, registry = load_settings(
        {"SALON_DATA_DIR": str(tmp_path), "SALON_TRACE_PLUGINS": "true"}
    )
    runtime = build_runtime(settings, pm, registry)
    try:
        with caplog.at_level(logging.INFO, logger="salon.plugins.trace"):
            info = await runtime.storage.put("a/b.txt", _chunks(), content_type="text/plain")
        assert info.size == len(b"traced bytes")
        assert re.search(
            r"storage provider local \(plugin salon\.defaults\.local_storage\)\.put "
            r"took \d+\.\d\d ms",
            caplog.text,
        )
        # The media pool pickles the processor into its children: tracing must not stop it.
        assert isinstance(runtime.media, TracedProvider)
        clone = pickle.loads(pickle.dumps(runtime.media))
        assert type(clone._inner) is type(runtime.media._inner)
    finally:
        await runtime.close()


def test_guide_trace_example_is_what_the_command_prints(tmp_path: Path) -> None:
    guide = (REPO / "docs" / "plugins.md").read_text()
    section = guide.split("**`SALON_TRACE_PLUGINS=true`**", 1)[1].split("`salon plugins`", 1)[0]
    block = re.findall(r"```console\n(.*?)```", section, re.S)[0].strip().splitlines()
    # A console block: the command after its "$ " prompt, then what it prints.
    command, shown = block[0].removeprefix("$ "), block[1:]
    assert command.startswith("SALON_TRACE_PLUGINS=true .venv/bin/salon plugins"), command
    assert shown, block
    command = command.replace(".venv/bin/salon", str(Path(sys.executable).parent / "salon"), 1)
    env = {**os.environ, "SALON_DATA_DIR": str(tmp_path), "SALON_TRACE_PLUGINS": "true"}
    out = subprocess.run(
        command, shell=True, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    printed = out.stdout.splitlines()
    for line in shown:
        # Timings differ run to run; everything else must be printed as shown.
        pattern = re.escape(line).replace(re.escape("0.01"), r"\d+\.\d\d")
        assert any(re.fullmatch(pattern, p) for p in printed), (line, printed)
