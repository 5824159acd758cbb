"""Refuse the passwords that guessing starts with.

The list is the 30,000 most common passwords that zxcvbn ships (from leaked password dumps),
compared case-insensitively. It is loaded once per process (about 0.4 s and 15 MB, measured),
in a thread at start-up (:func:`preload`) so no request waits for it.
"""

from __future__ import annotations

import functools

TOO_COMMON = "This password is one of the most common ones; choose another"


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(FREQUENCY_LISTS["passwords"])


def preload() -> None:
    _common()


def is_common(password: str) -> bool:
    """Whether ``password`` (ignoring case and surrounding spaces) is a common one."""
    return password.strip().casefold() in _common()
