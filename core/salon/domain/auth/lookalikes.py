"""Addresses that look like another account's: Unicode UTS #39 skeletons.

:mod:`salon.domain.auth.addresses` refuses a new address that mixes scripts in one part, but
an address written wholly in another script can still look like an existing one: Cyrillic
``\\u0430dmin`` (or a local part all in Cyrillic letters shaped like Latin ones) passes for
``admin``. UTS #39 answers this with a *skeleton*: the string in NFD, without
default-ignorable characters, each character replaced by its prototype from Unicode's
``confusables.txt`` (vendored in ``unicode/``: Cyrillic ``\\u0430`` and Greek ``\\u03b1``
become ``a``, ``m`` becomes ``rn``, ``1`` and ``I`` become ``l``), then NFD again. Two
addresses that look alike have the same skeleton.

The key compared goes further than the standard skeleton (the third outside attack found the
gaps): it is case-folded after the mapping (the table maps ``0`` to a capital ``O``, so
``b0b`` passed beside ``bob``) and loses its nonspacing marks, category Mn (a dotless
``\u0131`` and a combining dot above showed exactly as ``i``). So ``jos\u00e9`` and ``jose``
count as alike too.

``users.email_skeleton`` keeps the sha256 of each account's key (fixed-size for its
index whatever an address expands to), so "does an account look like this address" is one
indexed lookup. An account with the very same address is not a lookalike: that is a taken
address, which the provider answers. A local sign-up still waiting for its mailed code
(``SALON_SIGNUP_CONFIRM``) does not count, else anyone could hold back someone's future
address with a lookalike they never confirm.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
import uuid
from pathlib import Path
from typing import Final

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon.db.models import LocalAccount, User

LOOKALIKE: Final = (
    "This e-mail address looks like the address of another account (letters of another "
    "alphabet that look the same), so it cannot be used here"
)
CONFUSABLES: Final = Path(__file__).with_name("unicode") / "confusables.txt"
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt), which UTS #39 drops before
# mapping; Python's unicodedata has no such property. New addresses refuse most of these
# already (category Cf), not the Hangul fillers or variation selectors.
_IGNORABLE: Final = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip


@functools.cache
def _table() -> dict[int, str | None]:
    """Code point -> prototype (a ``str.translate`` table); default-ignorables -> None."""
    table: dict[int, str | None] = {
        code: None for first, last in _IGNORABLE for code in range(first, last + 1)
    }
    with CONFUSABLES.open(encoding="utf-8-sig") as lines:
        for line in lines:
            fields = line.split("#", 1)[0].split(";")
            if len(fields) < 2:
                continue  # a comment or a blank line
            source, prototype = fields[0].strip(), fields[1].split()
            table[int(source, 16)] = "".join(chr(int(code, 16)) for code in prototype)
    return table


def preload() -> None:
    """Read the table now (about 10k lines), not in the first sign-up."""
    _table()


def skeleton(text: str) -> str:
    """UTS #39's skeleton of ``text``: equal for strings that look alike."""
    mapped = unicodedata.normalize("NFD", text).translate(_table())
    return unicodedata.normalize("NFD", mapped)


def comparison_key(text: str) -> str:
    """The skeleton of ``text``, case-folded, mapped again (a folded letter may have a
    prototype of its own) and without nonspacing marks (see the module doc)."""
    folded = skeleton(skeleton(text).casefold())
    return "".join(c for c in folded if unicodedata.category(c) != "Mn")


def email_skeleton(email: str) -> str:
    """What ``users.email_skeleton`` holds for ``email``: the sha256 (hex) of the comparison
    key of the address as stored (trimmed, lower-case)."""
    return hashlib.sha256(comparison_key(email.strip().lower()).encode()).hexdigest()


# The user is a local sign-up that still waits for its code (not an account yet).
_PENDING: Final = exists().where(
    User.provider == "local",
    LocalAccount.email == User.email,
    LocalAccount.confirmation_hash.is_not(None),
)


async def looks_taken(session: AsyncSession, email: str, *, user: uuid.UUID | None = None) -> bool:
    """Whether an account other than ``email``'s own (and other than ``user``, the one taking
    the address) has an address that looks like it."""
    address = email.strip().lower()
    query = select(User.id).where(
        User.email_skeleton == email_skeleton(address), func.lower(User.email) != address, ~_PENDING
    )
    if user is not None:
        query = query.where(User.id != user)
    return await session.scalar(query.limit(1)) is not None


async def lookalike_exists(sessions: async_sessionmaker[AsyncSession], email: str) -> bool:
    """:func:`looks_taken` in a session of its own, closed at once."""
    async with sessions() as session:
        return await looks_taken(session, email)
