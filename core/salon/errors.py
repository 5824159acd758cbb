"""Salon's own error types. Providers translate their libraries' errors into these at one
boundary; the app maps them to HTTP answers in one place (``salon.app``)."""

from __future__ import annotations

from collections.abc import Mapping


class SalonError(Exception):
    """Base of every error Salon raises on purpose."""


class ConfigurationError(SalonError):
    """Settings or the environment make Salon unable to start or serve (a start-up error)."""


class PluginError(SalonError):
    """A plugin failed to load or a hook implementation raised; the message names both."""

    def __init__(self, plugin: str, hook: str, message: str) -> None:
        super().__init__(f"plugin {plugin!r}, hook {hook!r}: {message}")
        self.plugin = plugin
        self.hook = hook


class ProviderError(SalonError):
    """A provider failed in a way the caller cannot fix (upstream outage, misconfiguration)."""


class StorageError(ProviderError):
    """A storage backend failed to read or write."""


class ObjectNotFound(StorageError, FileNotFoundError):
    """The storage key does not exist."""


MEDIA_REASONS = frozenset(
    {"empty", "not_an_image", "unsupported_format", "unsupported_variant", "damaged", "too_large"}
)
"""Why bytes were refused, in a word a client can act on (the API's ``reason``):
``not_an_image`` (no image format at all), ``unsupported_format`` (an image, but a format Salon
does not read: BMP, SVG...), ``unsupported_variant`` (a supported format in a form Salon cannot
decode: a 12-bit JPEG, an image 100 times longer than wide), ``damaged`` (truncated or corrupt),
``too_large`` (more pixels than allowed; the API answers 413) and ``empty``."""


class UnsupportedMedia(SalonError):
    """The bytes are not an image Salon accepts; the message is shown to the uploader and
    ``reason`` (one of :data:`MEDIA_REASONS`) says which kind of refusal it is."""

    default_reason = "not_an_image"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason in MEDIA_REASONS else self.default_reason

    def __reduce__(self) -> tuple[type[UnsupportedMedia], tuple[str, str]]:
        # Raised in media worker processes: the reason must survive pickling.
        return (type(self), (str(self), self.reason))


class MediaTooLarge(UnsupportedMedia):
    """More pixels than the limits allow (``max_pixels``, the longest side, or far more pixels
    than the bytes could hold): the API answers 413, like a file over the byte limit."""

    default_reason = "too_large"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message, "too_large")


def media_refusal(message: str, reason: str | None) -> UnsupportedMedia:
    """The exception for a refusal recorded as ``message`` and ``reason`` (a failed image)."""
    if reason == "too_large":
        return MediaTooLarge(message)
    return UnsupportedMedia(message, reason)


class MediaBusy(SalonError):
    """Too many images are waiting for their renditions; the upload should be retried after
    ``retry_after`` seconds (the API answers 503 with ``Retry-After``)."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(SalonError):
    """An account flow was refused; ``code`` says why in a word the API maps to a status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidToken(SalonError):
    """An access or refresh token was not accepted. The reason is for logs only."""


class QueueUnavailable(ProviderError):
    """The job queue could not take a message."""


class SourceError(ProviderError):
    """An image source's upstream failed (after its own retries).

    The message is for the log (it may name hosts and ports); ``public_message``, when given,
    is the sentence the API answers instead of its generic one (e.g. "Could not reach NASA's
    APOD service; try again later")."""

    def __init__(self, message: str, public_message: str | None = None) -> None:
        super().__init__(message)
        self.public_message = public_message


class SourceRateLimited(SourceError):
    """An image source's upstream refused for now (HTTP 429 upstream): the API answers 429 with
    ``Retry-After`` when ``retry_after`` (seconds) is known, and an import job is retried after
    that long instead of failing. A subclass of :class:`SourceError`, so code catching that
    still catches it."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestRefused(SalonError):
    """A request the domain refuses for what it asks (HTTP 400); the message is shown to the
    caller. Services raise these, never HTTP types: ``salon.app`` maps each to its status.
    ``headers`` go out with the answer (``Cache-Control``, ``WWW-Authenticate``)."""

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = dict(headers or {})


class NeedsCredentials(RequestRefused):
    """The request needs a credential it did not bring, such as a share link's password
    (401)."""


class Forbidden(RequestRefused):
    """The credential sent is wrong for this request, such as a link's password (403)."""


class Missing(RequestRefused):
    """Nothing is there (404), told apart from :class:`Gone` (410)."""


class Conflict(RequestRefused):
    """The request clashes with the current state (409): a name taken, work under way."""


class Gone(RequestRefused):
    """What the request refers to has expired (410); what was sent has been deleted."""


class QuotaExceeded(RequestRefused):
    """The request would take the user over their storage quota (413)."""


class TooManyRequests(RequestRefused):
    """The caller holds too many of something at once (open uploads, queued jobs): 429 with
    ``Retry-After`` (seconds, at least 1) saying when to try again."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, int(retry_after)))})


class SourceQueryError(SalonError):
    """A query to an image source is invalid; the message is shown to the caller."""
