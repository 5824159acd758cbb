"""Cleaning text people type (titles, names, file names) before it is stored or shown.

One rule for every field: line breaks and tabs become spaces (or stay as ``\\n`` where a field
keeps lines); other control characters (NUL among them: PostgreSQL's text refuses it) and the
bidirectional overrides and isolates are dropped. U+202E turns "photo\\u202egpj.exe" into
"photoexe.jpg" on screen. Invisible zero-width spaces (U+200B, U+2060, U+FEFF) are dropped too:
they make two names that look the same differ; the zero-width (non-)joiners stay, because emoji
sequences and several scripts need them. So are the characters that draw nothing or a blank
without being spaces (the third outside attack's titles kept them): the Hangul fillers, the
Braille blank U+2800, the combining grapheme joiner U+034F and the object replacement U+FFFC."""

from __future__ import annotations

import datetime as dt
import unicodedata

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
ZERO_WIDTH_SPACES = frozenset("\u200b\u2060\ufeff")
BLANKS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\ufffc")
_DROPPED = BIDI_CONTROLS | ZERO_WIDTH_SPACES | BLANKS
_BREAKS = frozenset("\t\n\r\v\f\x85\u2028\u2029")
_LINE_ENDS = frozenset("\n\r\x85\u2028\u2029")


def clean_text(text: str, *, keep_lines: bool = False) -> str:
    """``text`` without control, bidirectional formatting and zero-width space characters,
    trimmed."""
    kept = []
    for char in text:
        if char in _BREAKS:
            kept.append("\n" if keep_lines and char in _LINE_ENDS else " ")
        elif char not in _DROPPED and unicodedata.category(char) != "Cc":
            kept.append(char)
    return "".join(kept).strip()


def offset_name(offset: dt.timedelta) -> str:
    """A UTC offset as EXIF's ``OffsetTime`` writes it: "+02:00", "-05:30"."""
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
