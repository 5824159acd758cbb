"""The plugin's settings: ``SALON_APOD_*`` (or ``[apod]`` in salon.toml), read at start-up."""

from __future__ import annotations

import msgspec

from salon_nasa_apod.fetch_policy import DEFAULT_IMAGE_HOSTS

DEFAULT_BASE_URL = "https://api.nasa.gov/planetary/apod"


class ApodSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Settings of the APOD image source; field ``x`` is read from ``SALON_APOD_X``.

    ``cache_ttl`` is how long (seconds) today's entry is cached; past dates never change and are
    cached for good. ``timeout`` is per HTTP request; ``max_retries`` bounds the retries after a
    5xx, a 429 or a timeout, waiting ``backoff * 2**attempt`` seconds (or the server's
    ``Retry-After`` when it is at most ``max_retry_after``). ``thumbs`` is the default for the
    query's ``thumbs`` key: import a video's thumbnail as its image. ``max_download_bytes`` caps
    one image download (0: the core's ``max_upload_bytes``). ``image_hosts`` (comma-separated)
    are the hosts images are fetched from, over https only and from public addresses only (see
    :mod:`salon_nasa_apod.fetch_policy`); a ``base_url`` other than NASA's is trusted too.
    """

    api_key: str = "DEMO_KEY"
    base_url: str = DEFAULT_BASE_URL
    cache_ttl: int = 3600
    timeout: float = 20.0
    max_retries: int = 3
    backoff: float = 1.0
    max_retry_after: float = 60.0
    max_range_days: int = 366
    max_download_bytes: int = 0
    thumbs: bool = False
    image_hosts: str = DEFAULT_IMAGE_HOSTS

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL")
        if "?" in self.base_url:
            # A key in the URL would be logged by httpx with every request.
            raise ValueError("base_url must not have a query string; set the key in api_key")
        if not self.api_key:
            raise ValueError("api_key must not be empty (the default is DEMO_KEY)")
        if self.timeout <= 0 or self.backoff < 0 or self.max_retry_after < 0:
            raise ValueError("timeout must be positive; backoff and max_retry_after not negative")
        if not 0 <= self.max_retries <= 10:
            raise ValueError("max_retries must be between 0 and 10")
        if self.cache_ttl < 0 or self.max_download_bytes < 0 or self.max_range_days < 1:
            raise ValueError("cache_ttl and max_download_bytes >= 0, max_range_days >= 1")

    @property
    def trusted_base(self) -> str | None:
        """The configured API, when it is not NASA's (a test or local one): its origin may
        serve images over http and from a local address."""
        return None if self.base_url == DEFAULT_BASE_URL else self.base_url

    def __repr__(self) -> str:
        # The key is a secret: never let a repr of the settings carry it into a log line.
        return (
            f"ApodSettings(api_key='***', base_url={self.base_url!r}, "
            f"cache_ttl={self.cache_ttl}, timeout={self.timeout}, "
            f"max_retries={self.max_retries}, thumbs={self.thumbs}, "
            f"image_hosts={self.image_hosts!r})"
        )
