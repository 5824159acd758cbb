"""Where a new image's rendition files go and what is recorded of them.

Shared by the event loop's path (:func:`salon.domain.images.processing.store_renditions`,
any storage) and the media worker process's (:class:`LocalPlacement`, local storage only),
so both record the same ``Image.renditions`` entries. Imported in media worker processes:
keep it light (no database, no web framework).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from salon.defaults.local_storage import LocalStorage
from salon.domain.images.keys import rendition_key
from salon.providers import ProcessedMedia, RenditionFile

__all__ = ["LocalPlacement", "keyed_renditions", "rendition_entries"]


def keyed_renditions(
    owner_id: uuid.UUID, sha256: str, processed: ProcessedMedia
) -> list[tuple[str, RenditionFile]]:
    """Each rendition file of ``processed`` with its storage key."""
    return [
        (rendition_key(owner_id, sha256, r.name, r.content_type.rsplit("/", 1)[-1]), r)
        for r in processed.renditions
    ]


def rendition_entries(keyed: list[tuple[str, RenditionFile]]) -> dict[str, Any]:
    """The ``Image.renditions`` mapping of stored ``keyed`` files."""
    return {
        r.name: {
            "key": key,
            "width": r.width,
            "height": r.height,
            "size": r.size,
            "content_type": r.content_type,
        }
        for key, r in keyed
    }


@dataclass(frozen=True, slots=True)
class LocalPlacement:
    """Renames an image's rendition files into local ``storage``, in the process that made
    them (a media worker), so the event loop neither hands them to a thread nor makes and
    removes their scratch folder. Not flushed to disk: renditions are made again from the
    original when a crash leaves one short (salon doctor compares the recorded sizes)."""

    storage: LocalStorage
    owner_id: uuid.UUID
    sha256: str

    def __call__(self, processed: ProcessedMedia) -> dict[str, Any]:
        keyed = keyed_renditions(self.owner_id, self.sha256, processed)
        self.storage.move_here([(key, r.path, r.content_type) for key, r in keyed], False)
        return rendition_entries(keyed)
