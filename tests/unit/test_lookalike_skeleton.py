"""UTS #39 skeletons of e-mail addresses (salon.domain.auth.lookalikes) from the vendored
confusables.txt: lookalikes in one other script share the Latin address's skeleton, genuine
non-Latin addresses do not, and the vendored file is the one its README names."""

from __future__ import annotations

import hashlib
import re

import pytest
from salon.domain.auth.lookalikes import CONFUSABLES, email_skeleton, skeleton


@pytest.mark.parametrize(
    ("lookalike", "latin"),
    [
        ("\u0430dmin@example.com", "admin@example.com"),  # Cyrillic a
        ("\u0441\u043e\u0440\u0435\u0445@example.com", "copex@example.com"),  # all Cyrillic
        ("\u03c1\u03b1\u03c1\u03b1@example.com", "papa@example.com"),  # all Greek
        ("\u0410DMIN@Example.com", "admin@example.com"),  # case does not matter
        ("rnary@example.com", "mary@example.com"),  # rn looks like m
        ("a\ufe0fdmin@example.com", "admin@example.com"),  # a variation selector is ignored
        ("b0b@example.com", "bob@example.com"),  # 0 maps to capital O: the key is folded
        ("0scar@example.com", "oscar@example.com"),
        ("al\u0131\u0307ce@example.com", "alice@example.com"),  # dotless i + dot above
    ],
)
def test_lookalikes_share_the_skeleton(lookalike: str, latin: str) -> None:
    assert lookalike.lower() != latin
    assert email_skeleton(lookalike) == email_skeleton(latin)


@pytest.mark.parametrize(
    "genuine",
    [
        "\u0430\u043b\u0438\u0441\u0430@example.com",  # Cyrillic alisa
        "\u5c71\u7530@example.jp",  # Han
        "\u03b4\u03b7\u03bc\u03b7\u03c4\u03c1\u03b1@example.gr",  # Greek dimitra
    ],
)
def test_genuine_non_latin_addresses_have_their_own(genuine: str) -> None:
    assert not skeleton(genuine).isascii()
    assert email_skeleton(genuine) != email_skeleton("alisa@example.com")


def test_the_skeleton_is_fixed_size_whatever_the_address() -> None:
    assert len(email_skeleton("\ufdf2" * 300 + "@example.com")) == 64


def test_the_vendored_table_is_the_one_its_readme_names() -> None:
    readme = (CONFUSABLES.parent / "README.md").read_text()
    head = CONFUSABLES.read_text(encoding="utf-8")[:400]
    version = re.search(r"# Version: (\S+)", head)
    assert version is not None and f"version {version.group(1)}" in readme
    digest = hashlib.sha256(CONFUSABLES.read_bytes()).hexdigest()
    assert f"`{digest}`" in readme
    assert (CONFUSABLES.parent / "LICENSE").read_text().startswith("UNICODE LICENSE V3")
