"""The one place where boto3/botocore errors become Salon's error types."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from salon.errors import ConfigurationError, ObjectNotFound, SalonError, StorageError

NOT_FOUND_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
MISSING_BUCKET_CODES = frozenset({"NoSuchBucket"})
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "KMS.AccessDeniedException",
        "KMS.NotFoundException",
    }
)


def error_code(exc: ClientError) -> str:
    """The S3 error code of a ClientError (``"404"`` for a HEAD without a body)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate(exc: Exception, *, bucket: str, key: str | None = None) -> SalonError:
    """Map an AWS SDK error to ObjectNotFound, ConfigurationError or StorageError.

    Messages name the bucket, key and S3 error code, never credentials or signed URLs.
    """
    if isinstance(exc, SalonError):
        return exc
    if isinstance(exc, ClientError):
        code = error_code(exc)
        operation = getattr(exc, "operation_name", "request")
        if code in MISSING_BUCKET_CODES or (code in NOT_FOUND_CODES and key is None):
            return ConfigurationError(
                f"S3 bucket {bucket!r} does not exist or is not visible (SALON_S3_BUCKET)"
            )
        if code in NOT_FOUND_CODES:
            return ObjectNotFound(key)
        if code in DENIED_CODES:
            return ConfigurationError(
                f"S3 {operation} on bucket {bucket!r} was refused ({code}): check the "
                "credentials, the IAM policy and the KMS key the service runs with"
            )
        return StorageError(f"S3 {operation} failed for {key or bucket!r}: {code or 'error'}")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ConfigurationError(
            "no usable AWS credentials found (environment, profile, or task/instance role)"
        )
    if isinstance(exc, NoRegionError):
        return ConfigurationError("no AWS region configured (set AWS_REGION)")
    if isinstance(exc, EndpointConnectionError):
        return StorageError(f"cannot reach the S3 endpoint for bucket {bucket!r}")
    if isinstance(exc, BotoCoreError):
        return StorageError(f"S3 request for {key or bucket!r} failed: {type(exc).__name__}")
    return StorageError(f"S3 request for {key or bucket!r} failed: {type(exc).__name__}")
