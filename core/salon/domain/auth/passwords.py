"""Refuse the passwords that guessing starts with.

Besides the list: a password of blanks or invisible characters only, one of fewer than
:data:`MIN_DISTINCT` different characters (``aaaaaaaa``, ``........``) and a simple run
(``abcdefgh``, ``12345678``, ``hgfedcba``) are what a guesser tries first too
(:func:`too_simple`).

The list is the 30,000 most common passwords that zxcvbn ships (from leaked password dumps),
compared case-insensitively. It is loaded once per process (about 0.4 s and 15 MB, measured),
in a thread at start-up (:func:`preload`) so no request waits for it.
"""

from __future__ import annotations

import functools
import itertools
import unicodedata

from salon.text import BLANKS

TOO_COMMON = "This password is one of the most common ones; choose another"
IS_EMAIL = "The password must not be your e-mail address; choose another"
MIN_DISTINCT = 4
TOO_SIMPLE = (
    f"This password is too simple: use at least {MIN_DISTINCT} different visible characters, "
    "not only blanks or invisible ones, not a plain run such as abcdefgh or 12345678 and not "
    "one piece repeated such as abcdabcd"
)


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


def _visible(char: str) -> bool:
    """Whether ``char`` draws something: not a separator, control, format, unassigned or
    private character, nor a blank that Unicode counts as a letter or symbol."""
    return not char.isspace() and unicodedata.category(char)[0] not in "ZC" and char not in BLANKS


def too_simple(password: str) -> bool:
    """Whether ``password`` has fewer than :data:`MIN_DISTINCT` different visible characters
    (blanks and invisible ones do not count), is a run of consecutive code points, up or
    down (``abcdefgh``, ``87654321``), or one piece repeated (``abcdabcd``, ``alicealice``),
    ignoring case."""
    visible = [c for c in password.casefold() if _visible(c)]
    if len(set(visible)) < MIN_DISTINCT:
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(visible)}
    return steps <= {1} or steps <= {-1} or _repeated("".join(visible))


def _repeated(text: str) -> bool:
    """Whether ``text`` is a shorter piece said twice or more (a string is one when it occurs
    in itself rotated, past its first character)."""
    return len(text) > 1 and (text + text).find(text, 1) < len(text)
