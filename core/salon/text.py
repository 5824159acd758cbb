"""Cleaning text people type (titles, names, file names) before it is stored or shown.

One rule for every field: line breaks and tabs become spaces (or stay as ``\\n`` where a field
keeps lines); other control characters (NUL among them: PostgreSQL's text refuses it) and the
bidirectional overrides and isolates are dropped. U+202E turns "photo\\u202egpj.exe" into
"photoexe.jpg" on screen; zero-width joiners and the like (emoji sequences) stay."""

from __future__ import annotations

import datetime as dt
import unicodedata

BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_BREAKS = frozenset("\t\n\r\v\f\x85\u2028\u2029")
_LINE_ENDS = frozenset("\n\r\x85\u2028\u2029")


def clean_text(text: str, *, keep_lines: bool = False) -> str:
    """``text`` without control and bidirectional formatting characters, trimmed."""
    kept = []
    for char in text:
        if char in _BREAKS:
            kept.append("\n" if keep_lines and char in _LINE_ENDS else " ")
        elif char not in BIDI_CONTROLS and unicodedata.category(char) != "Cc":
            kept.append(char)
    return "".join(kept).strip()


def offset_name(offset: dt.timedelta) -> str:
    """A UTC offset as EXIF's ``OffsetTime`` writes it: "+02:00", "-05:30"."""
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
