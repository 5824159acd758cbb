"""The plugin as Salon loads it: through its entry point, offering the ``video`` job kind."""

from __future__ import annotations

from salon.plugins import collect_registry, make_plugin_manager
from salon_ffmpeg_video import render_video


def test_entry_point_registers_the_video_handler() -> None:
    pm = make_plugin_manager()
    assert pm.has_plugin("ffmpeg_video"), "entry point 'ffmpeg_video' in group 'salon' not found"
    offer = collect_registry(pm).job_handlers["video"]
    assert offer.factory is render_video
    assert offer.plugin == "ffmpeg_video"
