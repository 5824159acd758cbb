"""The typed Protocols that providers implement, and the values they exchange with the core.

A plugin hands the core a *factory* for each provider it offers (see ``salon.hookspecs``). The
core calls the factory once at start-up with a :class:`ProviderContext` and from then on talks to
the provider only through the Protocol below. Nothing in this module imports the rest of the
core, so a plugin may import it freely.

Every method that does I/O is ``async``. :class:`MediaProcessor` is the exception: its work is CPU
bound, so its methods are plain functions that the core runs off the event loop.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Final,
    Protocol,
    TypeVar,
    runtime_checkable,
)

from salon.errors import (
    AuthError,
    ConfigurationError,
    InvalidToken,
    MediaTooLarge,
    ObjectNotFound,
    ProviderError,
    QueueUnavailable,
    SourceError,
    SourceQueryError,
    SourceRateLimited,
    StorageError,
    UnsupportedMedia,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from salon.composition import ServiceByName
    from salon.context import SalonContext
    from salon.settings import CoreSettings

T = TypeVar("T")

__all__ = [
    "DEFAULT_RENDITIONS",
    "JOB_LANES",
    "LONG",
    "RENDITION_FORMATS",
    "SHORT",
    "AccountSecurity",
    "AuthError",
    "AuthProvider",
    "BrowserOrigins",
    "Closeable",
    "ConfigurationError",
    "DeadLetterQueue",
    "Delivery",
    "Identity",
    "ImageSource",
    "InvalidToken",
    "JobContext",
    "JobHandler",
    "JobLanes",
    "JobQueue",
    "LongPollLimit",
    "MailMessage",
    "MailSender",
    "MediaAdditions",
    "MediaInfo",
    "MediaProbe",
    "MediaProcessor",
    "MediaTooLarge",
    "MovingStorage",
    "ObjectInfo",
    "ObjectNotFound",
    "PageSpec",
    "PagedImageSource",
    "PasswordSetting",
    "PluginFiles",
    "PluginMigrations",
    "PresignedPost",
    "ProcessedMedia",
    "ProviderContext",
    "ProviderError",
    "QueueUnavailable",
    "ReadinessCheck",
    "RedeliveryLimit",
    "RegisterAuthProvider",
    "RegisterImageSource",
    "RegisterJobHandler",
    "RegisterJobQueue",
    "RegisterMailSender",
    "RegisterMediaProcessor",
    "RegisterMigrations",
    "RegisterPages",
    "RegisterRequestAuthenticator",
    "RegisterSettings",
    "RegisterStorageBackend",
    "RenditionFile",
    "RenditionSpec",
    "SignupConfirmation",
    "SignupResult",
    "SourceCaller",
    "SourceEntry",
    "SourceError",
    "SourcePage",
    "SourceQueryError",
    "SourceRateLimited",
    "StackedMediaProcessor",
    "StorageBackend",
    "StorageCapabilities",
    "StorageError",
    "StorageEvent",
    "TableVersions",
    "TokenPair",
    "UnsupportedMedia",
    "job_lanes",
    "validate_key",
]


# --------------------------------------------------------------------------- context


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What the core hands a provider factory.

    ``settings`` is the plugin's own settings object (declared with ``register_settings``) or
    ``None``; ``core`` is the core settings; ``data_dir`` is a folder the provider may write to;
    ``database`` is an ``async_sessionmaker`` for providers that keep state in the core database
    (only the built-in providers use it: third-party plugins keep their own state).
    ``changes`` tells a provider that caches what it reads from the core database when that
    may have changed (see :class:`TableVersions`); ``None`` when the read caches are off
    (``SALON_READ_CACHE_MB=0``). ``mail`` is the selected :class:`MailSender` (``SALON_MAIL``),
    for providers that send e-mail (password reset links); ``None`` while the mail sender
    itself is being built.

    ``settings`` is typed ``object``: read it with :meth:`settings_as` (or ``isinstance``).
    """

    core: CoreSettings
    settings: object
    data_dir: Path
    database: async_sessionmaker[AsyncSession] | None = None
    http_base_url: str = "http://127.0.0.1:8000"
    changes: TableVersions | None = None
    mail: MailSender | None = None

    def settings_as(self, settings_type: type[T]) -> T:
        """``settings``, checked to be a ``settings_type`` (typed for mypy); all defaults
        when nothing was set. ``TypeError`` when the plugin registered another type."""
        return settings_as(self.settings, settings_type, "this provider")


def settings_as(found: object, settings_type: type[T], owner: str) -> T:
    """``found`` (a plugin's parsed settings or ``None``) as a ``settings_type``; shared by
    :meth:`ProviderContext.settings_as` and ``SalonContext.settings_as``."""
    if found is None:
        return settings_type()
    if not isinstance(found, settings_type):
        raise TypeError(f"{owner}'s settings are a {type(found).__name__}")
    return found


@runtime_checkable
class TableVersions(Protocol):
    """Change counters for the core database's tables, for read caches.

    ``version("images", "albums")`` returns a number that changes whenever a commit, by any
    process, may have changed one of those tables. Store the version read *before* a query
    with its result, and serve the result only while ``version()`` still returns the same
    number. It costs a few dictionary lookups; when the core cannot see every commit (its
    PostgreSQL listener is down) every call returns a new number, so caches simply miss.
    """

    def version(self, *tables: str) -> int:
        """The tables' current version; compare for equality only."""
        ...


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True, slots=True)
class StorageCapabilities:
    """What a storage backend can do beyond the basic round trip.

    ``presigned_post``: browsers may upload straight to the backend with a presigned POST.
    ``presigned_get``: downloads may be redirected to a short-lived URL instead of proxied.
    ``local_paths``: objects live on the local file system and ``local_path`` returns them, so
    the server can hand files to the OS (sendfile) instead of streaming them through Python.
    ``copy``: the backend is also a :class:`CopyingStorage`: it copies an object to another key
    without the bytes passing through Salon (S3 ``CopyObject``, a hard link on a disk). The core
    then promotes a completed direct upload to its original's key with it.
    """

    presigned_post: bool = False
    presigned_get: bool = False
    local_paths: bool = False
    copy: bool = False


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str | None = None
    etag: str | None = None
    last_modified: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class PresignedPost:
    """A form a browser POSTs, with ``fields`` plus the ``file`` part, to ``url``."""

    url: str
    fields: Mapping[str, str]
    expires_at: dt.datetime


@runtime_checkable
class StorageBackend(Protocol):
    """Where bytes live. Keys are ``/``-separated ASCII paths chosen by the core.

    Contract (checked by ``salon.testing.StorageContract``):

    - ``put`` consumes the chunks as they come (never all in memory), replaces an existing
      object atomically (a reader sees the old bytes or the new, never a mix), and returns the
      stored object's info. If the chunks raise, nothing is left behind under ``key``.
    - ``open`` streams an object; a missing key raises :class:`ObjectNotFound` before the first
      chunk is yielded.
    - ``delete`` of a missing key is not an error.
    - all other failures raise :class:`StorageError` (or a subclass), never a library's own.
    """

    capabilities: StorageCapabilities

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str
    ) -> ObjectInfo: ...

    def open(self, key: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]: ...

    async def stat(self, key: str) -> ObjectInfo: ...

    async def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> AsyncIterator[ObjectInfo]: ...

    async def presign_get(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        """A URL that serves ``key`` for ``expires_in`` seconds; only when ``presigned_get``."""
        ...

    async def presign_post(
        self, key: str, *, content_type: str, max_size: int, expires_in: int
    ) -> PresignedPost:
        """A browser-upload form for exactly ``key``; only when ``presigned_post``."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file holding ``key`` when ``local_paths``; ``None`` otherwise."""
        ...

    async def check(self) -> None:
        """Readiness: raise :class:`ConfigurationError` when the backend cannot be used."""
        ...


@runtime_checkable
class CopyingStorage(Protocol):
    """The optional ``copy`` capability of a :class:`StorageBackend` (``capabilities.copy``).

    Contract (checked by ``salon.testing.StorageContract`` when ``capabilities.copy``):
    ``copy`` makes ``dest`` hold exactly the bytes ``source`` holds, with ``content_type``,
    replacing ``dest`` atomically; ``source`` is unchanged; later writes or deletes of either
    key never change the other. A missing ``source`` raises :class:`ObjectNotFound` and leaves
    ``dest`` as it was.
    """

    async def copy(self, source: str, dest: str, *, content_type: str) -> ObjectInfo: ...


@runtime_checkable
class MovingStorage(Protocol):
    """An optional capability of a :class:`StorageBackend` on this machine's disks: move local
    files into keys instead of streaming their bytes through :meth:`StorageBackend.put`.

    ``move_files`` takes ``(key, path, content_type)`` triples; each ``path`` (a file this
    process wrote, on any local folder) becomes the object ``key``, replacing it atomically,
    and is gone afterwards. ``durable=False`` allows skipping the flush to disk: the core asks
    so only for derived data it can make again (renditions: ``salon doctor --repair`` remakes
    one a crash left short). Returns the objects' :class:`ObjectInfo` in order.
    """

    async def move_files(
        self, files: Sequence[tuple[str, Path, str]], *, durable: bool = True
    ) -> list[ObjectInfo]: ...


_MAX_KEY_LENGTH: Final = 1024
# S3's "safe characters" (plus "/" as separator): keys are chosen by the core, never by users.
_SEGMENT_RE: Final = re.compile(r"^[A-Za-z0-9!_.*'()=+,@~-]+$")


def validate_key(key: str, *, prefix: bool = False) -> str:
    """Return ``key`` if it is a safe relative ``/``-separated ASCII path, else raise ValueError.

    The key rules every storage backend shares, so keys are portable between backends.

    Refused: empty keys, absolute paths, backslashes, ``.`` and ``..`` segments, empty segments
    (``a//b``), segments starting with ``.`` (the backend's temporary files use that), and
    characters outside S3's safe set. With ``prefix=True`` the empty string and a trailing ``/``
    are allowed (``list`` prefixes).
    """
    if not isinstance(key, str):
        raise ValueError("storage key must be a string")
    if prefix and key == "":
        return key
    if not key or len(key) > _MAX_KEY_LENGTH:
        raise ValueError(f"storage key must be 1-{_MAX_KEY_LENGTH} characters")
    if key.startswith("/") or "\\" in key:
        raise ValueError(f"storage key {key!r} must be relative and use '/' separators")
    segments = key.split("/")
    if prefix and segments[-1] == "":
        segments = segments[:-1]
    for segment in segments:
        if segment in ("", ".", "..") or segment.startswith("."):
            raise ValueError(f"storage key {key!r} has an empty, dot or hidden segment")
        if not _SEGMENT_RE.match(segment):
            raise ValueError(f"storage key {key!r} has characters outside the safe ASCII set")
    return key


# --------------------------------------------------------------------------- auth


@runtime_checkable
class SignedInUser(Protocol):
    """The Salon user a request is signed in as: what a route handler receives when it takes
    ``current_user: SignedInUser`` (the core answers 401 before the handler runs, and before
    the body is read, when no one is signed in). ``id`` is the public user id, the
    ``owner_id`` of their images; ``provider`` and ``subject`` name them at their auth
    provider."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def provider(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def email(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid access token belongs to: ``subject`` is stable for the provider's lifetime.

    Request authenticators may set ``provider`` to act as a user of another provider (an API
    key acts as its owner, a local account: ``provider="local"``) and ``read_only`` to refuse
    the request's writes (403). Auth providers leave both at their defaults."""

    subject: str
    email: str | None = None
    provider: str | None = None
    read_only: bool = False


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


@dataclass(frozen=True, slots=True)
class SignupResult:
    identity: Identity
    confirmation_required: bool = False


@runtime_checkable
class AuthProvider(Protocol):
    """Accounts and tokens.

    ``authenticate`` raises :class:`InvalidToken` for any token it does not accept (expired,
    forged, revoked, malformed); the reason goes to the log, never to the client. Account flows
    raise :class:`AuthError` with a ``code`` the core maps to a 4xx: ``invalid_credentials``
    (wrong password and unknown user alike), ``user_exists``, ``weak_password``,
    ``not_confirmed``, ``invalid_code``, ``unsupported``.
    """

    async def signup(self, email: str, password: str) -> SignupResult: ...

    async def confirm(self, email: str, code: str) -> None: ...

    async def login(self, email: str, password: str) -> TokenPair: ...

    async def refresh(self, refresh_token: str) -> TokenPair: ...

    async def logout(self, access_token: str) -> None: ...

    async def authenticate(self, access_token: str) -> Identity: ...

    async def forgot_password(self, email: str) -> None: ...

    async def confirm_forgot_password(self, email: str, code: str, password: str) -> None: ...


@runtime_checkable
class AccountSecurity(Protocol):
    """Optional :class:`AuthProvider` capability: a signed-in user changes their password or
    ends every session. The core offers ``POST /api/auth/change-password`` and
    ``/api/auth/logout-all`` only for providers that have it (else 400 ``unsupported``).

    ``change_password`` raises ``AuthError("invalid_credentials")`` when ``current_password``
    is wrong and ``AuthError("weak_password")`` for a bad new one; on success every *other*
    session of the account ends (a provider that cannot end sessions selectively, Cognito, ends
    this one too). ``logout_everywhere`` ends every session, this one included.
    Both raise :class:`InvalidToken` for an access token they do not accept.
    """

    async def change_password(
        self, access_token: str, current_password: str, new_password: str
    ) -> None: ...

    async def logout_everywhere(self, access_token: str) -> None: ...


# --------------------------------------------------------------------------- mail


@runtime_checkable
class RequestAuthenticator(Protocol):
    """One link of the request-authentication chain (hook ``register_request_authenticators``).

    ``authenticate_request`` sees the request's headers (case-insensitive) and answers the
    :class:`Identity` they prove, or ``None`` when they carry no credentials of its kind (then
    the next authenticator, and finally the configured auth provider's Bearer token or session
    cookie, are tried). It raises :class:`salon.errors.InvalidToken` when credentials of its
    kind are present but wrong: the request is answered 401 and counts against the client's
    sign-in rate limit. It must compare secrets in constant time and never put a secret in an
    exception message. Its ``challenge`` (say ``'Basic realm="salon"'``) is added to the
    ``WWW-Authenticate`` header of 401 answers; ``None`` adds nothing.

    Identities are scoped to ``provider``: the user row is (provider, subject), so a subject
    from one authenticator never becomes an account of another. Only header credentials: an
    authenticator must not read cookies (CSRF protection applies to the session cookie only).
    """

    provider: str
    challenge: str | None

    async def authenticate_request(self, headers: Mapping[str, str]) -> Identity | None: ...


@dataclass(frozen=True, slots=True)
class MailMessage:
    """One plain-text e-mail. It never carries a password: reset mails carry a link."""

    to: str
    subject: str
    text: str


@runtime_checkable
class MailSender(Protocol):
    """Sends e-mail for the core and auth providers (password reset links).

    ``send`` delivers one message or raises :class:`ProviderError` (the caller logs it and the
    client gets a generic answer: whether an address exists is never revealed). ``check`` is
    the readiness check: raise :class:`ConfigurationError` when mail cannot be sent.
    """

    async def send(self, message: MailMessage) -> None: ...

    async def check(self) -> None: ...


# --------------------------------------------------------------------------- media


RENDITION_FORMATS: Final = ("WEBP", "AVIF", "JPEG", "PNG")
"""The formats a rendition may be written in (what browsers show)."""
_RENDITION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


@dataclass(frozen=True, slots=True)
class RenditionSpec:
    """A derived image: ``long_edge`` pixels on the longer side, never upscaled.

    Written in ``SALON_RENDITIONS`` as ``name:long_edge[:format[:quality]]`` (see
    :meth:`parse`), for example ``lg:2048`` or ``xl:4096:avif:60``. ``format`` may be given
    in any case (``"webp"``, ``"WEBP"``; ``"jpg"`` means ``"JPEG"``) and is kept upper-case,
    as Pillow names formats: ``RenditionSpec("wm", 1024, "webp").format == "WEBP"``.
    """

    name: str
    long_edge: int
    format: str = "WEBP"
    quality: int = 80

    def __post_init__(self) -> None:
        fmt = self.format.strip().upper()
        object.__setattr__(self, "format", "JPEG" if fmt == "JPG" else fmt)

    @classmethod
    def parse(cls, text: str) -> RenditionSpec:
        """``name:long_edge[:format[:quality]]``; ValueError saying what is wrong."""
        parts = [p.strip() for p in text.strip().split(":")]
        if not 2 <= len(parts) <= 4:
            raise ValueError(
                f"rendition {text!r}: write name:long_edge[:format[:quality]], e.g. lg:2048"
            )
        try:
            edge = int(parts[1])
            quality = int(parts[3]) if len(parts) == 4 else 80
        except ValueError:
            raise ValueError(f"rendition {text!r}: long_edge and quality are numbers") from None
        spec = cls(parts[0], edge, parts[2] if len(parts) >= 3 else "WEBP", quality)
        spec.check()
        return spec

    def check(self) -> None:
        """ValueError unless the name is safe in URLs and file names (lower-case letters,
        digits, ``-`` and ``_``, at most 32), the edge 16-16384 px, the format one of
        :data:`RENDITION_FORMATS` and the quality 1-100."""
        if not _RENDITION_NAME.fullmatch(self.name):
            raise ValueError(
                f"rendition name {self.name!r}: use 1-32 lower-case letters, digits, - or _"
            )
        if not 16 <= self.long_edge <= 16384:
            raise ValueError(f"rendition {self.name!r}: long_edge must be 16-16384 pixels")
        if self.format not in RENDITION_FORMATS:
            formats = ", ".join(f.lower() for f in RENDITION_FORMATS)
            raise ValueError(f"rendition {self.name!r}: format must be one of {formats}")
        if not 1 <= self.quality <= 100:
            raise ValueError(f"rendition {self.name!r}: quality must be 1-100")

    def __str__(self) -> str:
        """The setting's form, without the default format and quality: ``lg:2048``."""
        text = f"{self.name}:{self.long_edge}"
        if self.format != "WEBP" or self.quality != 80:
            text += f":{self.format.lower()}"
        return text + (f":{self.quality}" if self.quality != 80 else "")


DEFAULT_RENDITIONS: Final[tuple[RenditionSpec, ...]] = (
    RenditionSpec("sm", 320),
    RenditionSpec("md", 1024),
    RenditionSpec("lg", 2048),
)
"""The default of ``SALON_RENDITIONS``: WebP at quality 80, 320, 1024 and 2048 px on the long
edge. The web UI, shares, downloads and videos use ``sm``, ``md`` and ``lg``, so a setting may
change their sizes, formats and quality and add renditions, but keeps these three names."""


@dataclass(frozen=True, slots=True)
class RenditionFile:
    name: str
    path: Path
    width: int
    height: int
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class MediaInfo:
    content_type: str
    width: int
    height: int
    taken_at: dt.datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProcessedMedia:
    """What processing an upload produced. ``placeholder`` is a ThumbHash
    (https://evanw.github.io/thumbhash/) of the upright image, base64-encoded (standard
    alphabet, with padding; at most 200 characters), which clients decode into a blurred
    preview of about 32 px shown while a rendition loads; ``None`` when there is none."""

    info: MediaInfo
    renditions: Sequence[RenditionFile]
    placeholder: str | None


@runtime_checkable
class MediaProcessor(Protocol):
    """Decodes uploads and derives renditions. CPU bound: the core calls it in a worker thread.

    ``process`` must decode the source at most once, apply EXIF orientation, strip GPS and other
    private metadata from every output, and raise :class:`UnsupportedMedia` (with a message fit
    for the uploader) for anything that is not a supported, intact, reasonably sized image.
    """

    content_types: frozenset[str]

    def process(
        self, source: Path, out_dir: Path, specs: Sequence[RenditionSpec]
    ) -> ProcessedMedia: ...


@dataclass(frozen=True, slots=True)
class MediaAdditions:
    """What a :class:`StackedMediaProcessor` adds: rendition files it wrote into ``out_dir``
    (one per spec it declared, same names) and metadata keys (JSON-able values)."""

    renditions: Sequence[RenditionFile] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class StackedMediaProcessor(Protocol):
    """Adds renditions or metadata on top of the processor before it.

    ``SALON_MEDIA`` lists processors in order (``pillow,avif_phash``): the first, a
    :class:`MediaProcessor`, decodes the upload and makes the ``SALON_RENDITIONS``; each one
    after it is a stacked processor whose ``add`` receives the result so far (``previous``):
    its ``info`` and ``renditions``, whose files (upright, sRGB, no metadata) are in
    ``out_dir`` while ``add`` runs. It writes the renditions it declared in ``renditions``
    into ``out_dir`` (usually from a previous rendition, not the upload: the base has already
    refused what is unsafe) and returns them with any metadata keys in
    :class:`MediaAdditions`. It must not change or remove the previous files, nor return keys
    ``previous.info.metadata`` has (the earlier value is kept). ``source`` is the upload,
    for a processor that needs its bytes. Like :class:`MediaProcessor` it runs in worker
    processes (keep it picklable) or threads (keep it thread-safe).

    If ``add`` raises, the core logs it with the processor's name and the image is made
    without that processor's additions (``salon doctor --repair`` can make missing
    renditions later). Checked by ``salon.testing.StackedMediaProcessorContract``.
    """

    @property
    def renditions(self) -> Sequence[RenditionSpec]:
        """The renditions it adds (may be empty), named apart from ``SALON_RENDITIONS``."""
        ...

    def add(self, previous: ProcessedMedia, source: Path, out_dir: Path) -> MediaAdditions: ...


@runtime_checkable
class MediaProbe(Protocol):
    """Optional for a :class:`MediaProcessor`: read what an image is without decoding pixels.

    Salon answers an upload as soon as the original is stored and makes the renditions later,
    off the request. ``probe`` runs at intake (in a thread, so it must be cheap: headers and
    EXIF only) and returns the sniffed ``content_type``, the *displayed* (EXIF-oriented) width
    and height, ``taken_at`` and metadata, so the image is listed with its real shape while
    its renditions are made. It raises :class:`UnsupportedMedia` for anything ``process`` would
    certainly refuse (not an image, an accepted type, too many pixels). A processor without
    ``probe`` still works: the image is recorded with the uploader's claimed type and no size
    until ``process`` has run.
    """

    def probe(self, source: Path) -> MediaInfo: ...


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One item an image source offers.

    ``external_id`` is unique within the source (the APOD date, say) and is how imports are
    deduplicated. ``image_url`` is ``None`` for entries that cannot be imported as an image.
    """

    external_id: str
    title: str
    media_type: str
    image_url: str | None
    page_url: str | None = None
    thumbnail_url: str | None = None
    date: dt.date | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class ImageSource(Protocol):
    """A place images come from. ``entries`` validates ``query`` before any request and raises
    :class:`SourceQueryError` (a 400) for bad queries and :class:`SourceError` for upstream
    failures (:class:`SourceRateLimited`, a 429, when the upstream said "not now");
    ``download`` streams an entry's image bytes."""

    name: str
    title: str

    async def entries(self, query: Mapping[str, str]) -> Sequence[SourceEntry]: ...

    def download(self, entry: SourceEntry) -> AsyncIterator[bytes]: ...


@dataclass(frozen=True, slots=True)
class SourceCaller:
    """Who a source is asked for: the signed-in user's public id (the ``owner_id`` of what an
    import stores) and e-mail when known (``None`` in a job queued by an older version).
    For per-user upstream keys or quotas; never a credential."""

    user_id: uuid.UUID
    email: str | None = None


@dataclass(frozen=True, slots=True)
class SourcePage:
    """One page of entries and the opaque cursor of the next (``None``: this was the last)."""

    entries: Sequence[SourceEntry]
    next_cursor: str | None = None


@runtime_checkable
class PagedImageSource(ImageSource, Protocol):
    """An :class:`ImageSource` that browses in pages and is told who asks. When a source has
    ``entries_page`` the core calls it instead of ``entries``: ``cursor`` is ``None`` for the
    first page, else a ``next_cursor`` this source returned (the client passes it back as
    ``?cursor=``; refuse a malformed one with :class:`SourceQueryError`)."""

    async def entries_page(
        self, query: Mapping[str, str], *, cursor: str | None, caller: SourceCaller
    ) -> SourcePage: ...


# --------------------------------------------------------------------------- jobs

# A job's lane (declared where its handler is registered): the worker runs each lane in slots
# of its own, so a short job (an import, renditions) never waits behind a long one (a video).
SHORT: Final = "short"
LONG: Final = "long"
JOB_LANES: Final = (SHORT, LONG)


@dataclass(frozen=True, slots=True)
class StorageEvent:
    """An object appeared in storage without a job: an S3 ``ObjectCreated`` notification a queue
    also carries, say. ``key`` is the object's key as the storage backend names it (decoded).
    The worker runs the ``storage.object_created`` handler with ``payload["key"]``."""

    key: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """A received message. ``receive_count`` starts at 1.

    A job message has ``job_id`` and no ``storage_event``. A queue that also delivers storage
    events returns them with ``storage_event`` set; ``job_id`` then only names the message in
    logs (the SQS queue uses the message id), it is no job. ``lane`` is the lane it came from
    (:class:`JobLanes`); ``"short"`` from a queue without lanes.
    """

    job_id: str
    receipt: str
    receive_count: int
    storage_event: StorageEvent | None = None
    lane: str = SHORT


@runtime_checkable
class JobQueue(Protocol):
    """Carries job ids to workers, at least once.

    A received message is invisible to other receivers for ``visibility_timeout`` seconds; if not
    ``ack``-ed by then it is delivered again with a higher ``receive_count``. ``extend`` pushes the
    deadline out (a heartbeat); ``release`` makes it visible again at once. ``enqueue`` raises
    :class:`QueueUnavailable` when the message could not be stored.
    """

    visibility_timeout: int

    async def enqueue(self, job_id: str) -> None: ...

    async def receive(self, *, wait_seconds: float) -> Delivery | None: ...

    async def ack(self, delivery: Delivery) -> None: ...

    async def extend(self, delivery: Delivery, seconds: int) -> None: ...

    async def release(self, delivery: Delivery) -> None: ...

    async def check(self) -> None: ...

    async def close(self) -> None: ...


class JobContext(Protocol):
    """What a job handler gets: the job's payload, its owner, and the core's services."""

    job_id: str
    kind: str
    owner_id: str | None
    payload: Mapping[str, Any]
    storage: StorageBackend
    attempt: int

    async def progress(self, fraction: float) -> None:
        """Record progress in [0, 1]; also counts as a heartbeat."""
        ...

    @property
    def service(self) -> ServiceByName:
        """Deprecated, with a DeprecationWarning: ``job.service(name)``, a core service by
        name ("images", "uploads", "sources", "renditions"). Use :attr:`salon`
        (``job.salon.images``, ``.albums``, ``.queue``, ``.storage``, ``.media``,
        ``.settings_as``), which is public API; see docs/plugins.md. Still works; removed no
        earlier than the next major version."""
        ...

    @property
    def salon(self) -> SalonContext:
        """The :class:`salon.context.SalonContext` of the plugin that registered the handler:
        its settings, the queue, images, albums, its own tables. Since 0.2."""
        ...


JobHandler = Callable[[JobContext], Awaitable[Mapping[str, Any] | None]]
"""A job handler returns a JSON-able result (stored on the job) and must be idempotent."""


# The ``register`` callbacks the registration hooks receive (see salon.hookspecs).
RegisterStorageBackend = Callable[[str, Callable[[ProviderContext], StorageBackend]], None]
RegisterAuthProvider = Callable[[str, Callable[[ProviderContext], AuthProvider]], None]
RegisterMediaProcessor = Callable[
    [str, Callable[[ProviderContext], MediaProcessor | StackedMediaProcessor]], None
]
RegisterImageSource = Callable[[str, Callable[[ProviderContext], ImageSource]], None]
RegisterJobQueue = Callable[[str, Callable[[ProviderContext], JobQueue]], None]


class RegisterJobHandler(Protocol):
    """``register(kind, handler)``, or ``register(kind, handler, lane="long")`` for a job that
    takes minutes (since 0.2; default ``"short"``)."""

    def __call__(self, kind: str, handler: JobHandler, /, *, lane: str = SHORT) -> None: ...


RegisterRequestAuthenticator = Callable[
    [str, Callable[[ProviderContext], RequestAuthenticator]], None
]
RegisterMailSender = Callable[[str, Callable[[ProviderContext], MailSender]], None]
RegisterSettings = Callable[[str, type[Any]], None]


# --------------------------------------------------------------------------- capabilities
# Optional: a provider may offer these besides its Protocol. The core asks with isinstance
# (they are runtime-checkable), so a provider without one keeps working.


@runtime_checkable
class RedeliveryLimit(Protocol):
    """A :class:`JobQueue` that gives up on a message after ``max_receives`` deliveries (an
    SQS redrive policy): the worker fails a job for good at the same count (default 5)."""

    @property
    def max_receives(self) -> int: ...


@runtime_checkable
class LongPollLimit(Protocol):
    """A :class:`JobQueue` whose ``receive`` waits at most ``wait_seconds``: the worker asks
    for no longer, which also bounds how long an idle worker takes to stop."""

    @property
    def wait_seconds(self) -> float: ...


@runtime_checkable
class JobLanes(Protocol):
    """A :class:`JobQueue` that keeps long jobs apart from short ones: ``enqueue(job_id,
    lane=...)`` files the message in a lane (``"short"`` or ``"long"``) and ``receive(
    wait_seconds=..., lane=...)`` takes only from that lane, so the worker's short slots never
    wait behind a video. ``ack``, ``extend`` and ``release`` take a delivery of either lane.
    ``lanes_apart`` False (an SQS queue without its long-jobs queue): one lane, served as a
    queue without this capability."""

    @property
    def lanes_apart(self) -> bool: ...

    async def enqueue(self, job_id: str, *, lane: str = SHORT) -> None: ...

    async def receive(self, *, wait_seconds: float, lane: str = SHORT) -> Delivery | None: ...


def job_lanes(queue: object) -> JobLanes | None:
    """``queue`` as a :class:`JobLanes` when it keeps lanes apart, else None."""
    return queue if isinstance(queue, JobLanes) and queue.lanes_apart else None


@runtime_checkable
class DeadLetterQueue(Protocol):
    """A :class:`JobQueue` that reads its dead-letter queue, where its redrive policy put
    messages received too often without an ack: the worker marks their jobs failed."""

    async def receive_dead_letter(self) -> Delivery | None: ...

    async def ack_dead_letter(self, delivery: Delivery) -> None: ...


@runtime_checkable
class BrowserOrigins(Protocol):
    """A :class:`StorageBackend` whose presigned URLs send browsers to other origins (plain
    http ones, such as LocalStack): the Content-Security-Policy allows them."""

    @property
    def browser_origins(self) -> Sequence[str]: ...


@runtime_checkable
class ReadinessCheck(Protocol):
    """Anything ``GET /ready`` should ask (a job handler object, say): raise when not ready."""

    async def check(self) -> None: ...


@runtime_checkable
class Closeable(Protocol):
    """A provider holding connections (an HTTP client): ``aclose`` is awaited when the app or
    worker stops."""

    async def aclose(self) -> None: ...


@runtime_checkable
class SignupConfirmation(Protocol):
    """An :class:`AuthProvider` that says whether sign-ups wait for a mailed code (the sign-up
    route then answers a taken address like a new one)."""

    @property
    def confirms_signups(self) -> bool: ...


@runtime_checkable
class PasswordSetting(Protocol):
    """An :class:`AuthProvider` an administrator can set passwords with
    (``salon user set-password``)."""

    async def set_password(self, email: str, password: str) -> None: ...


# --------------------------------------------------------------------------- web pages


@dataclass(frozen=True, slots=True)
class PluginFiles:
    """A plugin's folders for the web UI (see the ``register_pages`` hook).

    ``templates``: Jinja templates, found by :class:`PageSpec` ``template`` names; they may
    ``{% extends "base.html" %}`` (the core's layout, whose ``main`` block holds the page).
    ``static``: files served as ``/static/plugins/<plugin name>/<path>`` (scripts, CSS, images).
    """

    templates: Path | None = None
    static: Path | None = None


@dataclass(frozen=True, slots=True)
class PageSpec:
    """An HTML page a plugin serves (see the ``register_pages`` hook).

    ``path`` is a fixed URL path such as ``"/apod"``; ``template`` a file in the plugin's
    templates folder; ``title`` the page's ``<title>``. With ``nav_label`` the page gets an entry
    in the main navigation, placed by ``nav_order`` among the core's (Photos 10, Favorites 20,
    Albums 30, Upload 40, Trash 90). ``scripts`` (ES modules) and ``styles`` (CSS) are paths in
    the plugin's static folder, loaded by the page. A page is for signed-in users (visitors are
    sent to the sign-in page) unless ``public`` is true.
    """

    path: str
    template: str
    title: str
    nav_label: str | None = None
    nav_order: int = 50
    scripts: Sequence[str] = ()
    styles: Sequence[str] = ()
    public: bool = False


RegisterPages = Callable[[PageSpec | PluginFiles], None]


# --------------------------------------------------------------------------- plugin tables


@dataclass(frozen=True, slots=True)
class PluginMigrations:
    """A plugin's own Alembic migrations (see the ``register_migrations`` hook).

    ``branch`` names them: lower-case letters, digits and ``_``, unique among the installed
    plugins; the database records how far they ran in the table ``alembic_version_<branch>``,
    apart from the core's. ``versions`` is the folder of revision files (``revision``,
    ``down_revision``, ``upgrade()``, ``downgrade()``), run in order after the core's own by
    ``salon db upgrade``.
    """

    branch: str
    versions: Path


RegisterMigrations = Callable[[PluginMigrations], None]
