"""The gallery's tables. advanced-alchemy supplies the base classes and portable column types
(UUID, timezone-aware datetimes, JSON) so the same models run on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from advanced_alchemy.base import UUIDv7AuditBase, orm_registry
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

metadata: MetaData = orm_registry.metadata

__all__ = [
    "Album",
    "AlbumImage",
    "AlbumMember",
    "AlbumShareLink",
    "Image",
    "Job",
    "LocalAccount",
    "PasswordReset",
    "QueueMessage",
    "RateCounter",
    "RefreshToken",
    "SchemaCompat",
    "ShareLink",
    "SourceImport",
    "UploadIntent",
    "User",
    "Video",
    "metadata",
]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class User(UUIDv7AuditBase):
    """A person, as known to one auth provider (``provider``, ``subject``)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    provider: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    # sha256 of the address's UTS #39 skeleton (salon.domain.auth.lookalikes): an address that
    # looks like another account's has the same one.
    email_skeleton: Mapped[str | None] = mapped_column(String(64), default=None, index=True)


class LocalAccount(UUIDv7AuditBase):
    """Credentials of the built-in local auth provider."""

    __tablename__ = "local_accounts"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Set while a sign-up waits for its mailed code (SALON_SIGNUP_CONFIRM); NULL: confirmed.
    confirmation_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    confirmation_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)


class RefreshToken(UUIDv7AuditBase):
    """A refresh token of the local auth provider; only its hash is kept. Tokens of one login
    share a ``session_id``; reusing a rotated token revokes the whole session."""

    __tablename__ = "refresh_tokens"

    account_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("local_accounts.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[uuid.UUID] = mapped_column(GUID, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)


class PasswordReset(UUIDv7AuditBase):
    """A password reset link of a local account: only the token's hash is kept; it works once,
    until ``expires_at``."""

    __tablename__ = "password_resets"

    account_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("local_accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)


class ApiKey(UUIDv7AuditBase):
    """A personal API key (built-in plugin ``salon.defaults.api_keys``): only the SHA-256 of
    its secret is kept; the key acts as its user, read-only unless ``scope`` is ``write``."""

    __tablename__ = "api_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)


class Image(UUIDv7AuditBase):
    """An uploaded image. ``renditions`` maps a rendition name to its key, size and pixels."""

    __tablename__ = "images"
    __table_args__ = (
        UniqueConstraint("owner_id", "sha256"),
        Index("ix_images_owner_page", "owner_id", "created_at", "id"),
        Index("ix_images_owner_favorite_page", "owner_id", "favorite", "created_at", "id"),
        # The worker's sweep for images left in "processing" (a crash before the renditions).
        Index("ix_images_status", "status", "updated_at"),
        # The worker's purge of trash past its time, and a user's trash listing.
        Index("ix_images_trashed", "trashed_at"),
    )

    owner_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500), default="")
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(500))
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)
    favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    placeholder: Mapped[str | None] = mapped_column(String(200), default=None)
    renditions: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    # "processing" from intake until the renditions are stored, then "ready"; "failed" when
    # the full decode refused the bytes (``error`` says why, for the uploader).
    status: Mapped[str] = mapped_column(String(16), default="ready", server_default="ready")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    # Set when the owner deleted the image: it is in the trash (hidden from listings, albums,
    # favorites and share links) until restored or purged SALON_TRASH_DAYS later.
    trashed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)


# The timeline (GET /api/images?order=taken): by date taken, else upload time. An expression
# index on both databases; the query must spell the expression the same way
# (salon.domain.images.services.taken_key).
Index(
    "ix_images_owner_taken",
    Image.owner_id,
    func.coalesce(Image.taken_at, Image.created_at),
    Image.id,
)


class Album(UUIDv7AuditBase):
    __tablename__ = "albums"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # The photo the owner chose to show for the album (None: its newest). No foreign key on
    # purpose: SQLite cannot add one without copying the table (which drops its change-log
    # triggers), and a cover that left the album or the library is ignored when read.
    cover_image_id: Mapped[uuid.UUID | None] = mapped_column(GUID, default=None)


class AlbumImage(orm_registry.generate_base()):  # type: ignore[misc]
    __tablename__ = "album_images"

    album_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("images.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC, default=_utcnow)


class RateCounter(orm_registry.generate_base()):  # type: ignore[misc]
    """A fixed-window counter of the account routes' rate limits (salon.domain.auth.throttle),
    on PostgreSQL. Times are Unix seconds; rows whose window ended are swept now and then.
    ``change_notifications: False``: every login attempt writes here, and no cache reads it,
    so it has no change trigger (a flood would otherwise wake every process)."""

    __tablename__ = "rate_counters"
    __table_args__ = {"info": {"change_notifications": False}}

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
    hits: Mapped[int] = mapped_column(Integer)


class ShareLink(UUIDv7AuditBase):
    """An expiring link to one image; only the token's hash is stored. ``shows`` lists what
    besides the picture the link reveals (``title``, ``taken_at``, ``file``); None shows
    nothing more (links made before the owner could choose). ``password_hash``: argon2, when
    the owner set a password (the token hash is then salted, see salon.domain.shares.services).
    Revoking sets ``revoked_at`` (and ends ``expires_at``): the address then answers 410."""

    __tablename__ = "share_links"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    image_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("images.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC)
    shows: Mapped[list[str] | None] = mapped_column(JsonB, default=None)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)


class AlbumShareLink(UUIDv7AuditBase):
    """An expiring link to one album (its photos' renditions); only the token's hash is
    stored, and the password's argon2 hash when the owner set one. Revoking sets
    ``revoked_at`` (and ends ``expires_at``): the address then answers 410."""

    __tablename__ = "album_share_links"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    album_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("albums.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC)
    shows: Mapped[list[str] | None] = mapped_column(JsonB, default=None)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)


class AlbumMember(orm_registry.generate_base()):  # type: ignore[misc]
    """Another user of this Salon who may view (never change) an album."""

    __tablename__ = "album_members"

    album_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("albums.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC, default=_utcnow)


class UploadIntent(UUIDv7AuditBase):
    """A direct upload the owner announced; completed or expired and cleaned up."""

    __tablename__ = "upload_intents"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    storage_key: Mapped[str] = mapped_column(String(500), unique=True)
    filename: Mapped[str] = mapped_column(String(500), default="")
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    image_id: Mapped[uuid.UUID | None] = mapped_column(GUID, default=None)


class Job(UUIDv7AuditBase):
    """A unit of background work. ``status``: queued, running, succeeded, failed."""

    __tablename__ = "jobs"

    kind: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC, default=None)


class QueueMessage(UUIDv7AuditBase):
    """A message of the built-in in-process queue, kept in the database so queued jobs survive
    a restart. Invisible until ``visible_at``; deleted on ack. ``group_key`` is the job's owner
    (None for jobs without one) and ``turn`` the message's place in the owners' rotation:
    receivers take the lowest turn first (fair scheduling, see ``salon.defaults.local_queue``).
    ``lane`` is ``short`` or ``long`` (a video): a receive takes from one lane."""

    __tablename__ = "queue_messages"
    __table_args__ = (
        Index("ix_queue_messages_group_turn", "group_key", "turn"),
        Index("ix_queue_messages_lane_turn", "lane", "turn"),
    )

    job_id: Mapped[str] = mapped_column(String(64), index=True)
    visible_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC, index=True)
    receive_count: Mapped[int] = mapped_column(Integer, default=0)
    receipt: Mapped[str | None] = mapped_column(String(64), default=None)
    group_key: Mapped[str | None] = mapped_column(String(64), default=None)
    turn: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lane: Mapped[str] = mapped_column(String(8), default="short", server_default="short")


class Video(UUIDv7AuditBase):
    __tablename__ = "videos"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        GUID, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    job_id: Mapped[uuid.UUID] = mapped_column(GUID, index=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    storage_key: Mapped[str | None] = mapped_column(String(500), default=None)
    duration: Mapped[float | None] = mapped_column(Float, default=None)
    size: Mapped[int | None] = mapped_column(BigInteger, default=None)


class SourceImport(UUIDv7AuditBase):
    """Which source entry became which image, so an entry is imported once per user."""

    __tablename__ = "source_imports"
    __table_args__ = (UniqueConstraint("owner_id", "source", "external_id"),)

    owner_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("users.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(255))
    image_id: Mapped[uuid.UUID] = mapped_column(GUID, ForeignKey("images.id", ondelete="CASCADE"))


class SchemaCompat(orm_registry.generate_base()):  # type: ignore[misc]
    """One row: the schema's revision and the oldest code revision that runs on it.

    Written by every ``salon db upgrade`` (``salon.db.schema``), so code older than the schema,
    which cannot know the newer migrations, can still tell whether it may run (expand/contract:
    release N-1 runs on schema N)."""

    __tablename__ = "schema_compat"

    revision: Mapped[str] = mapped_column(String(64), primary_key=True)
    oldest_code: Mapped[str] = mapped_column(String(64))
