"""The guide's examples run as written (docs/plugins.md): the extend_app example's signed-in
route through the real app, and a plugin command through click's CliRunner on ``salon.cli.cli``
as the guide tells authors to test theirs."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import salon
from click.testing import CliRunner
from salon.cli import cli
from salon.testing import running_app

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def _example(marker: str) -> types.ModuleType:
    """The guide's python block containing ``marker``, run as a plugin module would be."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    [code] = [block for block in blocks if marker in block]
    module = types.ModuleType(f"guide_example_{abs(hash(marker))}")
    module.__dict__["hookimpl"] = salon.hookimpl  # the guide's blocks share its first import
    sys.modules[module.__name__] = module  # Litestar resolves handler annotations through it
    exec(compile(code, str(GUIDE), "exec"), module.__dict__)
    return module


async def test_extend_app_route_requires_the_signed_in_user(tmp_path: Path) -> None:
    plugin = _example("vault_mine")
    async with running_app(tmp_path / "data", plugins=[plugin]) as app:
        anonymous = await app.client.get("/api/vault/mine")
        assert anonymous.status_code == 401, anonymous.text
        assert (await app.client.get("/api/vault/status")).json() == {"vault": "ok"}
        headers = await app.login()
        me = (await app.client.get("/api/me", headers=headers)).json()
        mine = await app.client.get("/api/vault/mine", headers=headers)
        assert mine.status_code == 200, mine.text
        assert mine.json() == {"user": me["id"], "email": me["email"]}


def test_a_plugin_command_runs_under_clirunner() -> None:
    # A built-in plugin's command, found the way a third party's is (the salon entry points).
    result = CliRunner().invoke(cli, ["apod", "--help"])
    assert result.exit_code == 0, result.output
    assert "import" in result.output


def test_salon_plugins_lists_request_authenticators(tmp_path: Path) -> None:
    env = {"SALON_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["plugins", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["authenticators"] == {"api_keys": "salon.defaults.api_keys"}
    text = CliRunner().invoke(cli, ["plugins"], env=env).output
    assert re.search(r"request\s+api_keys\s+\(salon.defaults.api_keys\)", text), text
