"""The servers' entry point (``salon.asgi:create_app``) freezes what start-up made, so the
periodic full garbage collection does not walk it on every pass (issue 21)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
import salon.asgi


def test_the_server_entry_point_freezes_start_up_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    app: Any = object()
    monkeypatch.setattr(salon.asgi, "_create_app", lambda: app)
    gc.unfreeze()
    try:
        assert salon.asgi.create_app() is app
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this test process keeps collecting as before
