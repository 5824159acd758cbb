"""``SALON_S3_*`` settings of the S3 storage backend."""

from __future__ import annotations

import re

import msgspec

from salon_aws_storage.keys import validate_key

MiB = 1 << 20
# S3 refuses parts below 5 MiB (except the last) and above 5 GiB.
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
SSE_MODES = ("AES256", "aws:kms", "none")


class S3Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Read from ``SALON_S3_<FIELD>``; region, credentials and endpoint come from boto3's own
    sources (``AWS_REGION``, ``AWS_ENDPOINT_URL_S3``, profiles, task roles), not from here.

    ``sse``: ``AES256`` (SSE-S3, default), ``aws:kms`` (SSE-KMS; set ``kms_key_id`` for a
    customer key, else the AWS managed key) or ``none``. Setting ``kms_key_id`` alone implies
    ``aws:kms``. ``presign_ttl`` caps the lifetime, in seconds, of every presigned URL.

    ``cloudfront_domain``, ``cloudfront_key_id`` and ``cloudfront_private_key`` (PEM, from a
    secret) go together: rendition URLs (keys under ``cloudfront_path_prefix``) are then
    CloudFront signed URLs on that domain instead of presigned S3 URLs, with the same lifetime.
    """

    bucket: str = ""
    prefix: str = ""
    sse: str = "AES256"
    kms_key_id: str = ""
    multipart_threshold: int = 8 * MiB
    part_size: int = 8 * MiB
    presign_ttl: int = 300
    addressing_style: str = "auto"
    retry_mode: str = "standard"
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_pool_connections: int = 32
    cloudfront_domain: str = ""
    cloudfront_key_id: str = ""
    cloudfront_private_key: str = ""
    cloudfront_path_prefix: str = "renditions/"

    def __post_init__(self) -> None:
        if self.sse not in SSE_MODES:
            raise ValueError(f"SALON_S3_SSE must be one of {', '.join(SSE_MODES)}")
        if self.kms_key_id and self.sse == "none":
            raise ValueError("SALON_S3_KMS_KEY_ID needs SALON_S3_SSE=aws:kms")
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ValueError("SALON_S3_PART_SIZE must be between 5 MiB and 5 GiB")
        if self.multipart_threshold < MIN_PART_SIZE:
            raise ValueError("SALON_S3_MULTIPART_THRESHOLD must be at least 5 MiB")
        if not 1 <= self.presign_ttl <= 7 * 24 * 3600:
            raise ValueError("SALON_S3_PRESIGN_TTL must be between 1 s and 7 days")
        if self.addressing_style not in ("auto", "virtual", "path"):
            raise ValueError("SALON_S3_ADDRESSING_STYLE must be auto, virtual or path")
        if self.retry_mode not in ("standard", "adaptive", "legacy"):
            raise ValueError("SALON_S3_RETRY_MODE must be standard, adaptive or legacy")
        if self.max_attempts < 1 or self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise ValueError("SALON_S3 retry and timeout settings must be positive")
        self._check_cloudfront()
        if self.prefix:
            try:
                validate_key(self.prefix, prefix=True)
            except ValueError as exc:
                raise ValueError(f"SALON_S3_PREFIX: {exc}") from exc

    def __repr__(self) -> str:  # the CloudFront private key never reaches a log line
        fields = {f: getattr(self, f) for f in self.__struct_fields__}
        if fields["cloudfront_private_key"]:
            fields["cloudfront_private_key"] = "***"
        return f"S3Settings({', '.join(f'{k}={v!r}' for k, v in fields.items())})"

    def _check_cloudfront(self) -> None:
        parts = (self.cloudfront_domain, self.cloudfront_key_id, self.cloudfront_private_key)
        if any(parts) and not all(parts):
            raise ValueError(
                "SALON_S3_CLOUDFRONT_DOMAIN, SALON_S3_CLOUDFRONT_KEY_ID and "
                "SALON_S3_CLOUDFRONT_PRIVATE_KEY must be set together"
            )
        if self.cloudfront_domain and not re.fullmatch(r"[A-Za-z0-9.-]+", self.cloudfront_domain):
            raise ValueError(
                "SALON_S3_CLOUDFRONT_DOMAIN is a host name such as d111.cloudfront.net "
                "(no scheme, no path)"
            )
        if self.cloudfront_path_prefix and not self.cloudfront_path_prefix.endswith("/"):
            raise ValueError("SALON_S3_CLOUDFRONT_PATH_PREFIX must end with /")

    @property
    def cloudfront_enabled(self) -> bool:
        """Whether rendition URLs are CloudFront signed URLs."""
        return bool(self.cloudfront_domain)

    @property
    def effective_sse(self) -> str | None:
        """The ``ServerSideEncryption`` value to send, or ``None``."""
        if self.kms_key_id:
            return "aws:kms"
        return None if self.sse == "none" else self.sse

    @property
    def key_prefix(self) -> str:
        """``prefix`` normalised to end with one ``/`` (or empty)."""
        stripped = self.prefix.strip("/")
        return f"{stripped}/" if stripped else ""
