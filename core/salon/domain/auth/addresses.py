"""Checks for an e-mail address that is about to be stored (sign-up), not for signing in.

Other users see an account's address (an album's "shared by", its member list), so a new
address must not pass for another one. The second outside attack signed up as
``alice\\u200b@example.com`` (an invisible zero-width space) and as ``alic\\u0435@example.com`` (a
Cyrillic letter ie) and both showed exactly like the real Alice. So a new address is NFKC-normalised
(fullwidth and other compatibility forms become the plain letters), and refused when it holds a
control or format character (Unicode category Cc/Cf: zero-width spaces and joiners, bidi
controls, the soft hyphen) or when its part before the ``@`` (or one of the domain's labels)
mixes letters of two scripts, such as Latin and Cyrillic. Chinese, Japanese and Korean scripts
count as one and may mix with Latin, as UTS #39's "highly restrictive" level allows.

Any other character that is not a letter, a mark or a digit is refused too, except the ASCII
punctuation an address may hold: symbols and blanks such as U+FFFC and the Braille blank
U+2800 (category So) draw nothing or a space (``carol\ufffc@``, ``\u2800carol@``).

An address written in one other script only (all Cyrillic) passes here; when it looks like an
existing account's address, :mod:`salon.domain.auth.lookalikes` (Unicode's confusables table)
refuses it. Accounts made before these checks are unaffected: signing in looks addresses up
as before.
"""

from __future__ import annotations

import unicodedata
from typing import Final

from salon.errors import AuthError

INVISIBLE: Final = (
    "An e-mail address must not contain invisible or formatting characters "
    "(such as zero-width spaces or direction marks)"
)
NOT_ALLOWED: Final = (
    "An e-mail address may hold only letters, digits and the punctuation e-mail allows "
    "(such as . - _ + @), not symbols or blank characters"
)
# RFC 5322's atext punctuation, the dot and the @.
_PUNCTUATION: Final = frozenset("!#$%&'*+-/=?^_`{|}~.@")
MIXED_SCRIPTS: Final = (
    "An e-mail address must not mix letters of different scripts "
    "(such as Latin and Cyrillic) in one part"
)
# Letters, marks and decimal digits (Unicode general categories).
_KINDS: Final = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd"})
# Scripts that Unicode's "highly restrictive" level lets Latin text mix with.
_EAST_ASIAN: Final = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "BOPOMOFO"})


def _script(letter: str) -> str:
    """The script of ``letter`` as the first word of its Unicode name ("LATIN", "CYRILLIC")."""
    word = unicodedata.name(letter, "UNKNOWN").split(" ", 1)[0]
    return "EAST_ASIAN" if word in _EAST_ASIAN else word


def _mixes_scripts(part: str) -> bool:
    scripts = {_script(c) for c in part if unicodedata.category(c).startswith("L")}
    if "LATIN" in scripts:
        scripts.discard("EAST_ASIAN")
    return len(scripts) > 1


def _allowed(char: str) -> bool:
    return char in _PUNCTUATION or unicodedata.category(char) in _KINDS


def new_address(email: str) -> str:
    """``email`` NFKC-normalised and trimmed; ``AuthError("invalid_email")`` (400) with a
    message saying why when it could pass for another address (see the module docstring)."""
    value = unicodedata.normalize("NFKC", email).strip()
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in value):
        raise AuthError("invalid_email", INVISIBLE)
    if not all(_allowed(c) for c in value):
        raise AuthError("invalid_email", NOT_ALLOWED)
    local, _, domain = value.rpartition("@")
    if any(_mixes_scripts(part) for part in (local, *domain.split("."))):
        raise AuthError("invalid_email", MIXED_SCRIPTS)
    return value
