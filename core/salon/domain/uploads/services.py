"""Direct uploads: the client announces a file, sends the bytes straight to storage (a
presigned POST on S3, the server itself for local storage), then asks for completion, where the
object is checked (size, sha256 read back, decodable) before it becomes an image."""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from salon.db.models import Image, UploadIntent
from salon.domain.admission import owner_turn
from salon.domain.images.intake import StoredObject
from salon.domain.images.keys import staging_key, upload_key
from salon.domain.images.quota import (
    STORAGE_TURN,
    QuotaExceeded,
    check_open_uploads,
    check_quota,
)
from salon.domain.images.services import ImageService, IngestItem, IntakeTurn, NotFound
from salon.domain.ports import UploadPorts
from salon.domain.uploads.schemas import UploadIn, UploadOut
from salon.errors import Conflict, Gone, ObjectNotFound, RequestRefused, UnsupportedMedia
from salon.providers import CopyingStorage

log = logging.getLogger("salon.uploads")


class UploadRefused(RequestRefused):
    """The uploaded object does not match its intent; it has been deleted."""


class NothingUploaded(UploadRefused):
    """Completion found no object: the file was not sent yet. The upload stays open."""

    def __init__(self) -> None:
        super().__init__(
            "nothing was uploaded for this upload id yet: send its file first, then complete"
            " it again (the upload stays open until it expires)"
        )


# Why an upload that is no longer pending takes neither a file nor a completion.
_CLOSED = {
    "refused": "this upload was refused when it was completed (its file was not the size "
    "announced, or not an image Salon reads; that answer said which) and its file deleted: "
    "announce a new upload with POST /api/uploads",
    "completed": "this upload is already completed: announce a new upload with "
    "POST /api/uploads for another file",
}


def closed_upload(status: str) -> UploadRefused:
    """The refusal for a file or completion sent to an upload in ``status`` (not pending)."""
    return UploadRefused(_CLOSED.get(status, f"this upload is {status}"))


class UploadExpired(Gone):
    """The upload's time ran out (410); what was sent has been deleted: start a new one."""


class UploadInProgress(Conflict):
    """Another request is completing this upload right now."""


_MIME_RE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,40}/[a-z0-9][a-z0-9!#$&^_.+-]{0,50}")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UploadService:
    def __init__(self, runtime: UploadPorts, images: ImageService) -> None:
        self.runtime = runtime
        self.images = images

    async def create(self, session: AsyncSession, owner_id: uuid.UUID, data: UploadIn) -> UploadOut:
        core = self.runtime.core
        if data.size == 0:  # as POST /api/images refuses it (README: 415 ``empty``)
            raise UnsupportedMedia("the file is empty", "empty")
        if data.size > core.max_upload_bytes:
            from salon.domain.images.receive import PayloadTooLarge

            raise PayloadTooLarge(f"file is larger than the limit of {core.max_upload_bytes} bytes")
        # Only a label for the object in transit: completion judges the bytes (a PNG announced
        # as image/apng or image/x-portable-bitmap is a PNG).
        content_type = data.content_type.lower().strip()
        if not _MIME_RE.fullmatch(content_type):
            content_type = "application/octet-stream"
        intent_id = uuid.uuid4()
        key = upload_key(owner_id, intent_id)
        expires_at = _now() + dt.timedelta(seconds=core.upload_intent_ttl)
        intent = UploadIntent(
            id=intent_id,
            owner_id=owner_id,
            storage_key=key,
            filename=data.filename[:500],
            content_type=content_type,
            size=data.size,
            expires_at=expires_at,
        )
        storage = self.runtime.storage
        if storage.capabilities.presigned_post:
            ttl = min(core.upload_intent_ttl, 3600)
            post = await storage.presign_post(
                key, content_type=content_type, max_size=data.size, expires_in=ttl
            )
            out = UploadOut(str(intent_id), "POST", post.url, dict(post.fields), post.expires_at)
        else:
            # Relative: the browser sends the bytes to the origin it is on, whatever address
            # or proxy that is (an absolute URL from settings would be blocked by the CSP).
            url = f"/api/uploads/{intent_id}/file"
            out = UploadOut(str(intent_id), "POST", url, {}, expires_at)
        # The counts and the row in the owner's storage turn, so parallel announcements cannot
        # all pass (attack report 3: 40 at once against a cap of 32). The request's read ends
        # first: its connection is not held while waiting for the turn.
        await session.commit()
        async with owner_turn(STORAGE_TURN, owner_id):
            await check_open_uploads(session, owner_id, core.max_open_uploads_per_user)
            await check_quota(session, owner_id, data.size, core.storage_quota_bytes)
            session.add(intent)
            await session.commit()
        return out

    async def owned_intent(
        self, session: AsyncSession, owner_id: uuid.UUID, upload_id: uuid.UUID
    ) -> UploadIntent:
        intent = await session.get(UploadIntent, upload_id)
        if intent is None or intent.owner_id != owner_id:
            raise NotFound("upload not found")
        return intent

    async def complete(
        self,
        session: AsyncSession,
        owner_id: uuid.UUID,
        upload_id: uuid.UUID,
        *,
        wait: bool,
        turn: IntakeTurn | None = None,
    ) -> tuple[Image, bool]:
        """``turn`` as in :meth:`ImageService.ingest`."""
        intent = await self.owned_intent(session, owner_id, upload_id)
        await self.refuse_if_expired(session, intent)
        return await self.complete_intent(session, intent, wait=wait, turn=turn)

    async def refuse_if_expired(self, session: AsyncSession, intent: UploadIntent) -> None:
        """410 for a pending intent past its ``expires_at``; its object and row are deleted at
        once (nothing is left for the cleanup)."""
        if intent.status != "pending" or intent.expires_at > _now():
            return
        await self._delete_quietly(intent.storage_key)
        await session.delete(intent)
        await session.commit()
        raise UploadExpired(
            f"this upload expired at {intent.expires_at.isoformat(timespec='seconds')}; "
            "start a new one"
        )

    async def complete_intent(
        self,
        session: AsyncSession,
        intent: UploadIntent,
        *,
        wait: bool = False,
        turn: IntakeTurn | None = None,
    ) -> tuple[Image, bool]:
        """Verify and ingest the object of ``intent``, once: the browser's completion call and
        the storage event for the same object may race, so the intent is claimed atomically."""
        claim = await session.execute(
            update(UploadIntent)
            .where(UploadIntent.id == intent.id, UploadIntent.status == "pending")
            .values(status="processing")
        )
        await session.commit()
        if getattr(claim, "rowcount", 0) != 1:
            await session.refresh(intent)
            if intent.status == "completed" and intent.image_id is not None:
                image = await session.get(Image, intent.image_id)
                if image is not None:
                    return image, False
            if intent.status == "processing":
                raise UploadInProgress("this upload is being processed; try again shortly")
            raise closed_upload(intent.status)
        try:
            image, created = await self._verify_and_ingest(intent, wait, turn)
        except NothingUploaded:
            # Completed before its file was sent (outside attacker, s29): nothing to delete,
            # and the file may still come (a presigned POST in flight), so it stays open.
            intent.status = "pending"
            await session.commit()
            raise
        except (UploadRefused, UnsupportedMedia, QuotaExceeded):
            await self._refuse(session, intent)
            raise
        except BaseException:
            intent.status = "pending"  # a fault, not the upload's: let a retry claim it again
            await session.commit()
            raise
        intent.status = "completed"
        intent.image_id = image.id
        await session.commit()
        await self._delete_quietly(intent.storage_key)
        return image, created

    async def _verify_and_ingest(
        self, intent: UploadIntent, wait: bool, turn: IntakeTurn | None
    ) -> tuple[Image, bool]:
        storage = self.runtime.storage
        copier = storage if storage.capabilities.copy else None
        if not isinstance(copier, CopyingStorage):
            return await self._ingest(intent, intent.storage_key, False, wait, turn)
        # The upload key may be written again while this runs (a browser form is valid until it
        # expires; a slow second POST of the file): check and keep a copy nothing else writes.
        # Both copies stay in storage (a hard link, S3 CopyObject); no byte is uploaded again.
        staged = staging_key(intent.owner_id, intent.id)
        try:
            await copier.copy(intent.storage_key, staged, content_type=intent.content_type)
        except ObjectNotFound:
            raise NothingUploaded() from None
        try:
            return await self._ingest(intent, staged, True, wait, turn)
        finally:
            await self._delete_quietly(staged)

    async def _ingest(
        self,
        intent: UploadIntent,
        key: str,
        promote: bool,
        wait: bool,
        turn: IntakeTurn | None,
    ) -> tuple[Image, bool]:
        """Make the object under ``key`` an image, its bytes read once (in place on local
        storage, one download on S3); ``promote``: the original is a storage-side copy of
        ``key`` rather than the bytes uploaded again."""
        try:
            info = await self.runtime.storage.stat(key)
        except ObjectNotFound:
            raise NothingUploaded() from None
        if info.size != intent.size:
            raise UploadRefused(
                f"the uploaded object is {info.size} bytes, but {intent.size} were announced"
            )
        source = StoredObject(
            key,
            intent.size,
            UploadRefused("the uploaded object is larger than announced"),
            NothingUploaded(),
            promote=promote,
        )
        item = IngestItem(
            owner_id=intent.owner_id,
            claimed_type=intent.content_type,
            filename=intent.filename,
            intent_id=intent.id,
        )
        return await self.images.ingest_from(
            source, item, wait=wait, refuse_when_busy=True, turn=turn
        )

    async def _refuse(self, session: AsyncSession, intent: UploadIntent) -> None:
        intent.status = "refused"
        await session.commit()
        await self._delete_quietly(intent.storage_key)

    async def _delete_quietly(self, key: str) -> None:
        try:
            await self.runtime.storage.delete(key)
        except Exception:
            log.exception("could not delete upload object %s; cleanup will retry", key)

    async def receive_local(self, intent: UploadIntent, chunks: AsyncIterator[bytes]) -> None:
        """For backends without presigned POST: the server stands in for the bucket, the
        bytes going straight into storage (an error in ``chunks`` leaves nothing)."""
        await self.runtime.storage.put(intent.storage_key, chunks, content_type=intent.content_type)

    async def cleanup_expired(self) -> int:
        """Delete objects and intents that were never completed in time. Returns how many."""
        async with self.runtime.session_maker() as session:
            query = select(UploadIntent).where(
                UploadIntent.status.in_(("pending", "refused")), UploadIntent.expires_at < _now()
            )
            intents = list((await session.execute(query)).scalars())
            for intent in intents:
                await self._delete_quietly(intent.storage_key)
                await self._delete_quietly(staging_key(intent.owner_id, intent.id))
                await session.delete(intent)
            await session.commit()
        return len(intents)
