"""What ``POST /api/images/download`` takes."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec


class DownloadIn(msgspec.Struct, forbid_unknown_fields=True):
    """``kind``: the uploaded files (``original``) or the large rendition (``lg``)."""

    image_ids: list[uuid.UUID]
    kind: Literal["original", "lg"] = "original"
