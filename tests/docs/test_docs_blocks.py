"""The extractor reads blocks as the convention in docblocks.py says."""

from __future__ import annotations

import pytest

from .docblocks import parse

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


def test_an_unclosed_fence_is_an_error() -> None:
    with pytest.raises(ValueError, match="never closed"):
        parse("X.md", "```sh\nmake run\n")
