"""Bulk import of local files (``salon import DIR``), through the same ingest path as uploads."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from salon.api import user_by_email
from salon.domain.albums.services import get_or_create
from salon.domain.images.intake import LocalFile
from salon.domain.images.quota import QuotaExceeded
from salon.domain.images.services import IngestItem
from salon.errors import SalonError, UnsupportedMedia

log = logging.getLogger("salon.import")


async def import_directory(
    runtime: Any,
    files: Sequence[Path],
    email: str,
    album: str | None,
    on_file: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Import ``files`` for the user with ``email``. Unsupported files are counted, not fatal."""
    owner = await user_by_email(runtime, email)
    album_id = None
    if album:
        async with runtime.session_maker() as session:
            album_id = (await get_or_create(session, owner.id, album)).id
    counts = {"imported": 0, "duplicates": 0, "unsupported": 0}
    images = runtime.services.images
    for path in files:
        try:
            _, created = await images.ingest_from(
                LocalFile(path),
                IngestItem(
                    owner_id=owner.id,
                    claimed_type=mimetypes.guess_type(path.name)[0] or "",
                    album_id=album_id,
                    filename=path.name,
                ),
            )
            counts["imported" if created else "duplicates"] += 1
        except UnsupportedMedia as exc:
            log.info("skipped %s: %s", path, exc)
            counts["unsupported"] += 1
        except QuotaExceeded as exc:
            raise SalonError(f"stopped at {path.name}: {exc}") from None
        if on_file is not None:
            on_file(1)
    return counts


__all__ = ["SalonError", "import_directory"]
