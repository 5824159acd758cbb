"""The extractor reads blocks as the convention in docblocks.py says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import clean_env
from .docblocks import parse, runnable_blocks, section_blocks
from .docshell import DocCommandFailed, Shell, is_long_running

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.docs

SAMPLE = """# Title

## Run it

```sh
make run    # serves
export A=1 \\
  B=2

# a comment line
make stop
```

```console
$ cd plugin
$ pip install -e . \\
    --quiet
Successfully installed
$ pytest -x
E   NotImplementedError
```

## Elsewhere

```bash
terraform apply
```

````text
```sh
not a block of its own
```
````
"""


def test_sh_blocks_are_scripts_with_comments_and_blank_lines_dropped() -> None:
    block = parse("X.md", SAMPLE)[0]
    assert (block.lang, block.section, block.line, block.runnable) == ("sh", "Run it", 5, True)
    assert block.commands() == ["make run    # serves", "export A=1 \\\n  B=2", "make stop"]


def test_console_blocks_run_only_their_prompt_lines() -> None:
    block = parse("X.md", SAMPLE)[1]
    assert block.runnable
    assert block.commands() == ["cd plugin", "pip install -e . \\\n    --quiet", "pytest -x"]


def test_other_fences_are_illustrative_and_nest() -> None:
    blocks = parse("X.md", SAMPLE)
    assert [(b.lang, b.section, b.runnable) for b in blocks[2:]] == [
        ("bash", "Elsewhere", False),
        ("text", "Elsewhere", False),
    ]
    assert "not a block of its own" in blocks[3].text


def test_an_and_chain_is_one_command_and_stops_at_its_first_failure(tmp_path: Path) -> None:
    text = "```sh\necho one &&   # a comment\nfalse &&\ntouch two\necho three\n```\n"
    block = parse("X.md", text)[0]
    assert block.commands() == ["echo one &&   # a comment\nfalse &&\ntouch two", "echo three"]
    shell = Shell(tmp_path, clean_env(), tmp_path / "logs")
    try:
        with pytest.raises(DocCommandFailed, match="exited with 1"):
            shell.run(block.commands()[0])
        assert not (tmp_path / "two").exists()
    finally:
        shell.close()


def test_the_deploy_localstack_steps_fail_fast() -> None:
    """Pasted into a shell, a failed `init` must not go on to `apply` and `output`: the
    section's first block is one `&&` chain."""
    first = section_blocks(ROOT, "deploy/README.md", "Running the application half on LocalStack")
    assert len(first[0].commands()) == 1, first[0].commands()
    assert "tflocal.sh init" in first[0].commands()[0]


def test_an_unclosed_fence_is_an_error() -> None:
    with pytest.raises(ValueError, match="never closed"):
        parse("X.md", "```sh\nmake run\n")


# Which test runs the runnable blocks of each (document, section).
RUN_BY = {
    ("README.md", "Quick start"): "test_docs_quickstart.py",
    ("README.md", "What runs where"): "test_docs_localstack.py",
    ("deploy/README.md", "Running the application half on LocalStack"): "test_docs_deploy.py",
    # Builds and runs the image, beside the other deploy tests (podman, no Docker engine).
    ("deploy/README.md", "Building the image without Docker (podman)"): (
        "../deploy/test_image_podman.py"
    ),
    (
        "docs/plugins.md",
        "Ten minutes from nothing to a served gallery",
    ): "test_docs_plugin_tutorial.py",
    ("docs/plugins.md", "Stacking media processors"): "test_docs_stacking.py",
    ("docs/plugins.md", "An image source with its own page"): "test_docs_folder_source.py",
    ("deploy/localstack/README.md", "Cognito on moto"): "test_docs_cognito.py",
    (
        "deploy/localstack/README.md",
        "Salon on LocalStack (and moto) without Docker",
    ): "test_docs_localstack_readme.py",
    ("deploy/localstack/README.md", "What `run.sh` does"): "test_docs_localstack_readme.py",
    ("plugins/aws_storage/README.md", "salon-aws-storage"): "test_docs_localstack_readme.py",
    ("docs/plugins.md", "Failure isolation, disabling and tracing"): "test_docs_tryouts.py",
    ("examples/salon-example-plugin/README.md", "Try it"): "test_docs_tryouts.py",
    ("examples/salon-htpasswd-auth/README.md", "salon-htpasswd-auth"): "test_docs_tryouts.py",
    ("examples/salon-photo-log/README.md", "salon-photo-log"): "test_docs_tryouts.py",
}


def _markdown_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


def test_every_runnable_block_is_run_by_a_test() -> None:
    docs = _markdown_files()
    assert "README.md" in docs and "docs/plugins.md" in docs
    unclaimed = [
        f"{b.where()} is fenced ```{b.lang}"
        for doc in docs
        for b in runnable_blocks(ROOT, doc)
        if (doc, b.section) not in RUN_BY
    ]
    assert not unclaimed, (
        "blocks fenced ```sh or ```console are run by tests/docs: add the section to RUN_BY "
        "and run it, or fence the block ```bash if it is only illustrative:\n"
        + "\n".join(unclaimed)
    )


@pytest.mark.parametrize(("doc", "section"), sorted(RUN_BY), ids=lambda v: v)
def test_each_claimed_section_has_blocks_and_its_test(doc: str, section: str) -> None:
    assert section_blocks(ROOT, doc, section)
    test = Path(__file__).parent / RUN_BY[doc, section]
    assert f'"{section}"' in test.read_text(), f"{test.name} does not name {section!r}"


def test_the_shell_keeps_state_and_reports_failures(tmp_path: Path) -> None:
    shell = Shell(tmp_path, clean_env(), tmp_path / "logs")
    try:
        shell.run("mkdir sub && cd sub   # a trailing comment")
        shell.run("export DOCS_A=1")
        assert shell.capture("pwd   # the comment must not swallow the redirect").strip() == str(
            tmp_path / "sub"
        )
        assert shell.env()["DOCS_A"] == "1"
        with pytest.raises(DocCommandFailed, match="exited with 3"):
            shell.run("echo said; (exit 3)")
        job = shell.start("sleep 300")
        assert job.alive()
    finally:
        shell.close()
    assert not job.alive()


@pytest.mark.parametrize(
    ("command", "serves"),
    [
        ("make run    # serves", True),
        ("make run PORT=9000", True),
        (".venv/bin/moto_server -H 127.0.0.1 -p 5001 &", True),
        ("make sync       # installs moto_server; `make run` does not", False),
        ("SALON_STORAGE=x salon db upgrade && SALON_STORAGE=x salon serve", True),
        (".venv/bin/salon worker", True),
        ("salon worker --once", False),
        ("make runner", False),
        ("salon db upgrade", False),
    ],
)
def test_which_commands_are_left_running(command: str, serves: bool) -> None:
    assert is_long_running(command) is serves
