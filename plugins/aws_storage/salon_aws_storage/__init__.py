"""Salon storage backend ``s3``: objects in an S3 bucket.

Select it with ``SALON_STORAGE=s3`` and ``SALON_S3_BUCKET``; optional ``SALON_S3_*`` settings
are in :class:`~salon_aws_storage.settings.S3Settings`. Region, credentials and endpoint come from
boto3's standard sources (``AWS_REGION``, ``AWS_ENDPOINT_URL_S3`` for LocalStack, profiles,
task roles).
"""

from __future__ import annotations

from typing import Any

from salon import hookimpl

from salon_aws_storage.settings import S3Settings
from salon_aws_storage.storage import S3Storage, content_disposition, validate_key

__all__ = ["S3Settings", "S3Storage", "content_disposition", "validate_key"]


@hookimpl
def register_settings(register: Any) -> None:
    """``SALON_S3_*`` -> :class:`S3Settings`."""
    register("S3", S3Settings)


@hookimpl
def register_storage_backends(register: Any) -> None:
    """Offer ``s3``; its factory raises ConfigurationError when SALON_S3_BUCKET is missing."""
    register("s3", S3Storage.from_context)
