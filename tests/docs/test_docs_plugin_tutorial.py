"""docs/plugins.md, "Ten minutes from nothing to a served gallery", followed as written in a
fresh clone: the skeleton fails its contract suite with the stubs' messages; step 4 (write the
methods) is done the way the guide points to, with the example plugin's complete backend; then
the contract suite passes, and `salon serve` with the plugin lets a browser upload a photo
that the plugin stores."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import open_shell, sign_up_and_upload, wait_ready
from .docblocks import section_blocks
from .docshell import Background, Shell, is_long_running

pytestmark = [pytest.mark.docs, pytest.mark.timeout(1200)]

SECTION = "Ten minutes from nothing to a served gallery"
PYTEST = re.compile(r"^(\S*/)?pytest\b")
EXAMPLE = "examples/salon-example-plugin/salon_example_plugin"


class Tutorial:
    def __init__(self, clone: Path, shell: Shell) -> None:
        self.clone = clone
        self.shell = shell
        self.stubs_failed = ""  # step 3's output
        self.passed = ""  # the output of the contract suite passing after step 4
        self.plugins = ""  # `salon plugins` after step 2
        self.servers: list[Background] = []


def _write_the_methods(clone: Path, package: Path) -> None:
    """Step 4: "storage.py in the example plugin is a complete implementation that passes the
    same suite". Its modules go into the new package; PhotoVaultStorage becomes that backend,
    keeping its objects under the data dir Salon gives it."""
    source = clone / EXAMPLE
    for name in ("storage.py", "keys.py"):
        text = (source / name).read_text()
        # Its settings type is only used by its own from_context, which is replaced below.
        text = text.replace(
            "salon_example_plugin.settings import ExampleSettings",
            "typing import Any as ExampleSettings",
        )
        (package / ("sharded.py" if name == "storage.py" else name)).write_text(
            text.replace("salon_example_plugin.", f"{package.name}.")
        )
    (package / "provider.py").write_text(
        '"""PhotoVaultStorage: the example plugin\'s sharded backend, in data_dir/photo_vault."""\n'
        "from __future__ import annotations\n\n"
        "from pathlib import Path\n\n"
        "from salon.providers import ProviderContext\n\n"
        f"from {package.name}.sharded import ShardedStorage\n\n\n"
        "class PhotoVaultStorage(ShardedStorage):\n"
        "    @classmethod\n"
        "    def from_context(cls, context: ProviderContext) -> PhotoVaultStorage:\n"
        '        return cls(Path(context.data_dir) / "photo_vault")\n'
    )


@pytest.fixture(scope="module")
def tutorial(clone: Path) -> Iterator[Tutorial]:
    """The section's commands in order, in one shell; a `pytest` before step 4 must fail."""
    with open_shell(clone, "plugin_tutorial") as shell:
        done = Tutorial(clone, shell)
        for block in section_blocks(clone, "docs/plugins.md", SECTION):
            for command in block.commands():
                _step(done, command)
        yield done


def _step(done: Tutorial, command: str) -> None:
    shell = done.shell
    if is_long_running(command):
        done.servers.append(shell.start(command))
    elif PYTEST.match(command) and not done.passed:
        first = shell.run(command, check=False)
        assert first.status != 0, "the skeleton's stubs passed the contract suite"
        done.stubs_failed = first.output()
        package = Path(shell.capture("pwd").strip())
        _write_the_methods(done.clone, package / package.name.replace("-", "_"))
        done.passed = shell.run(command).output()  # "until pytest passes"
    elif command.split("#", 1)[0].split() == ["salon", "plugins"]:
        done.plugins = shell.capture(command)
    else:
        shell.run(command)


def test_the_skeleton_fails_with_what_to_write(tutorial: Tutorial) -> None:
    assert "NotImplementedError" in tutorial.stubs_failed, tutorial.stubs_failed[-2000:]
    assert "See StorageBackend in docs/plugins.md" in tutorial.stubs_failed
    assert "photo_vault" in tutorial.plugins, tutorial.plugins


def test_the_written_plugin_passes_its_contract_suite(tutorial: Tutorial) -> None:
    # `pytest` after step 4 exited 0 (the fixture raises otherwise), and it ran the suite.
    assert tutorial.passed
    assert re.search(r"\b\d+ passed\b", tutorial.passed), tutorial.passed[-2000:]


def test_the_gallery_stores_uploads_with_the_plugin(tutorial: Tutorial, browser: Any) -> None:
    assert len(tutorial.servers) == 1, tutorial.servers
    url = f"http://127.0.0.1:{tutorial.shell.start_env['PORT']}"
    wait_ready(url, tutorial.servers[0])
    assert httpx.get(f"{url}/ready", timeout=10).json()["checks"]["storage"] == "ok"
    sign_up_and_upload(browser, url, "vault")
    here = Path(tutorial.shell.capture("pwd").strip())
    stored = [p.name for p in (here / "data" / "photo_vault").rglob("*") if p.is_file()]
    assert any(name.startswith("originals%2F") for name in stored), stored
