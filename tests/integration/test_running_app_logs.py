"""Issue 16.9: pytest's caplog sees what plugins and the core log inside running_app (the app's
logging config used to replace the root handlers, caplog's among them), and `make sync` keeps
packages a user added to the environment (uv sync --inexact)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from salon.testing import running_app

ROOT = Path(__file__).resolve().parents[2]


async def test_caplog_sees_logs_inside_running_app(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_app(tmp_path / "data") as app:
        logging.getLogger("salon.plugin.mine").warning("said inside the app")
        response = await app.client.get("/api/me", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
    assert "said inside the app" in caplog.text
    # The core's own line about the refused token, logged while handling the request.
    assert any(r.name == "salon.auth" and "token refused" in r.getMessage() for r in caplog.records)


def test_make_sync_never_removes_packages_a_user_added() -> None:
    makefile = (ROOT / "Makefile").read_text()
    syncs = re.findall(r"^\t\$\(UV\) sync\b.*$", makefile, re.M)
    assert syncs, "no uv sync line in the Makefile"
    for line in syncs:
        assert "--inexact" in line, f"uv sync without --inexact uninstalls user plugins: {line}"
