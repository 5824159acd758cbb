"""``salon doctor``: find what a crash or a fault can leave behind, and repair it.

- orphan objects: bytes in storage no image row (or pending upload, or video) points at, nor
  belong to one: ``<key>.<suffix>`` beside a referenced ``<key>`` is that object's sidecar (the
  video plugin's ``<output>.mp4.result.json``), owned by whoever owns the key;
- missing renditions: rebuilt from the original, since renditions are derived data; a
  rendition file shorter or longer than recorded counts as missing (renditions are not flushed
  to disk one by one, so a crash of the machine may leave one short);
- missing originals: reported (the photo is gone; nothing can bring it back);
- images still ``processing`` (their renditions are being made, or a crash stopped that: the
  worker's sweep takes those up) and ``failed`` ones (the full decode refused the bytes) are
  listed apart, not as missing renditions.

Only the core's key prefixes (``PREFIXES``) are checked: a plugin's own objects, under
``<plugin name>/`` (docs/plugins.md, "The salon object"), are the plugin's, never orphans.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from salon.db.models import Image, UploadIntent, Video
from salon.domain.images.keys import rendition_key
from salon.domain.images.processing import PROCESSING, READY
from salon.domain.videos.services import output_key as video_output_key
from salon.errors import ObjectNotFound, StorageError, UnsupportedMedia
from salon.runtime import Runtime

log = logging.getLogger("salon.doctor")

# The core's own keys (salon.domain.images.keys, the video plugin's videos/); every other
# prefix belongs to a plugin (``<plugin name>/``) and is never counted or deleted here.
PREFIXES = ("originals/", "renditions/", "uploads/", "videos/")


@dataclass
class Report:
    orphan_objects: list[str] = field(default_factory=list)
    missing_renditions: list[str] = field(default_factory=list)
    missing_originals: list[str] = field(default_factory=list)
    processing: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    repaired: int = 0

    @property
    def healthy(self) -> bool:
        return not (self.orphan_objects or self.missing_renditions or self.missing_originals)

    def as_dict(self) -> dict[str, Any]:
        return {
            "orphan_objects": self.orphan_objects,
            "missing_renditions": self.missing_renditions,
            "missing_originals": self.missing_originals,
            "processing": self.processing,
            "failed": self.failed,
            "repaired": self.repaired,
        }


async def _referenced_keys(runtime: Runtime) -> set[str]:
    keys: set[str] = set()
    async with runtime.session_maker() as session:
        rows = await session.execute(
            select(Image.storage_key, Image.renditions, Image.status, Image.owner_id, Image.sha256)
        )
        for key, renditions, status, owner_id, sha256 in rows:
            keys.add(key)
            keys.update(entry["key"] for entry in (renditions or {}).values())
            if status == PROCESSING:  # renditions stored a moment before the row learns them
                keys.update(
                    rendition_key(owner_id, sha256, spec.name, spec.format.lower())
                    for spec in runtime.renditions
                )
        pending = select(UploadIntent.storage_key).where(UploadIntent.status == "pending")
        keys.update((await session.execute(pending)).scalars())
        # A video's output key is fixed at creation; its row learns it only when finalized.
        for owner_id, video_id in await session.execute(select(Video.owner_id, Video.id)):
            keys.add(video_output_key(owner_id, video_id))
    return keys


def _owned(key: str, referenced: set[str]) -> bool:
    """``key`` is referenced, or is a sidecar ``<referenced key>.<suffix>`` of one."""
    if key in referenced:
        return True
    dot = key.find(".", key.rfind("/") + 1)
    while dot != -1:
        if key[:dot] in referenced:
            return True
        dot = key.find(".", dot + 1)
    return False


async def _stored_keys(runtime: Runtime) -> list[str]:
    found: list[str] = []
    for prefix in PREFIXES:
        async for info in runtime.storage.list(prefix):
            found.append(info.key)
    return found


async def _exists(runtime: Runtime, key: str) -> bool:
    try:
        await runtime.storage.stat(key)
    except ObjectNotFound:
        return False
    return True


async def _check_images(
    runtime: Runtime, report: Report, repair: bool, tick: Callable[[], None]
) -> None:
    async with runtime.session_maker() as session:
        images = list((await session.execute(select(Image))).scalars())
    for image in images:
        tick()
        if not await _exists(runtime, image.storage_key):
            report.missing_originals.append(str(image.id))
            continue
        if image.status != READY:
            (report.processing if image.status == PROCESSING else report.failed).append(
                str(image.id)
            )
            continue
        missing = await runtime.services.renditions.missing(image)
        if not missing:
            continue
        report.missing_renditions.append(f"{image.id}: {', '.join(missing)}")
        if repair:
            try:
                await runtime.services.renditions.refresh(image.id, missing)
                report.repaired += 1
            except (UnsupportedMedia, StorageError) as exc:
                log.error("could not rebuild renditions of %s: %s", image.id, exc)


async def diagnose(
    runtime: Runtime, *, repair: bool = False, tick: Callable[[], None] = lambda: None
) -> Report:
    """Check every image and every stored object; with ``repair``, delete orphans and rebuild
    missing renditions. Orphans are computed after the image check so rebuilt renditions count
    as referenced."""
    report = Report()
    await _check_images(runtime, report, repair, tick)
    referenced = await _referenced_keys(runtime)
    for key in await _stored_keys(runtime):
        if _owned(key, referenced):
            continue
        report.orphan_objects.append(key)
        if repair:
            await runtime.storage.delete(key)
            report.repaired += 1
    return report


async def count_images(runtime: Runtime) -> int:
    from sqlalchemy import func

    async with runtime.session_maker() as session:
        return int((await session.execute(select(func.count()).select_from(Image))).scalar_one())
