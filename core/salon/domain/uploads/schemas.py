"""Direct-upload bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from salon.domain.images.schemas import MAX_TITLE


class UploadIn(msgspec.Struct, forbid_unknown_fields=True):
    filename: Annotated[str, msgspec.Meta(max_length=500)]
    content_type: Annotated[str, msgspec.Meta(max_length=100)]
    size: Annotated[int, msgspec.Meta(ge=0)]  # 0: refused as the upload of an empty file
    title: Annotated[str, msgspec.Meta(max_length=MAX_TITLE)] = ""


class UploadOut(msgspec.Struct):
    upload_id: str
    method: str
    url: str
    fields: dict[str, str]
    expires_at: dt.datetime
