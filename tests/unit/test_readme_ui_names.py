"""The README names the account page's buttons as the page labels them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_log_out_everywhere_is_called_what_the_button_says() -> None:
    template = (ROOT / "core/salon/web/templates/account.html").read_text()
    label = re.search(r"data-logout-all>([^<]+)</button>", template)
    assert label, "the account page has no log-out-everywhere button"
    readme = (ROOT / "README.md").read_text()
    assert f'"{label.group(1)}"' in readme
    assert "sign out everywhere" not in readme.lower()
