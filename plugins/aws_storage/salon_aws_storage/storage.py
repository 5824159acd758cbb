"""S3 implementation of :class:`salon.providers.StorageBackend`.

The AWS boundary is :mod:`salon.aws`: every boto3 call runs in a worker thread
(``salon.aws.call``), one client per process is made on first use and again after a fork
(``LazyClient``; boto3 clients are thread-safe, sessions are not, so the session lives only
inside the factory), and botocore's errors become Salon's through its one table.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, TypeVar

import anyio

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as exc:  # pragma: no cover - the distribution depends on boto3
    raise ImportError(
        "salon-aws-storage needs boto3: pip install 'salon-aws-storage' (or boto3)"
    ) from exc

from salon.aws import AwsBoundary, LazyClient, call, client_config
from salon.errors import ConfigurationError, StorageError
from salon.providers import ObjectInfo, PresignedPost, ProviderContext, StorageCapabilities

from salon_aws_storage.cloudfront import CloudFrontUrls
from salon_aws_storage.keys import validate_key
from salon_aws_storage.settings import S3Settings

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client
    from types_boto3_s3.type_defs import CompletedPartTypeDef

__all__ = ["ClientFactory", "S3Storage", "validate_key"]

_T = TypeVar("_T")
log = logging.getLogger("salon_aws_storage")
ClientFactory = Callable[[Config], "S3Client"]

_FILENAME_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._ -]")


def default_client_factory(config: Config) -> S3Client:
    """boto3's standard chain: region, credentials and ``AWS_ENDPOINT_URL(_S3)`` from the
    environment, profiles or the task role."""
    return boto3.session.Session().client("s3", config=config)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = _FILENAME_UNSAFE.sub("_", filename).strip() or "download"
    exact = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


class S3Storage:
    """Objects in one S3 bucket, under ``SALON_S3_PREFIX``."""

    capabilities = StorageCapabilities(
        presigned_post=True, presigned_get=True, local_paths=False, copy=True
    )
    #: Keys per ListObjectsV2 request (S3's maximum is 1000).
    list_page_size: int = 1000

    def __init__(self, settings: S3Settings, *, client_factory: ClientFactory | None = None):
        if not settings.bucket:
            raise ConfigurationError("SALON_S3_BUCKET is required when SALON_STORAGE=s3")
        self.settings = settings
        self.bucket = settings.bucket
        self._prefix = settings.key_prefix
        factory = client_factory or default_client_factory
        self._client = LazyClient(lambda: factory(self.client_config()))
        self.boundary = AwsBoundary(
            "S3", StorageError, resource=f"bucket {self.bucket!r}", hint="SALON_S3_BUCKET"
        )
        self._cloudfront = (
            CloudFrontUrls(
                settings.cloudfront_domain,
                settings.cloudfront_key_id,
                settings.cloudfront_private_key,
            )
            if settings.cloudfront_enabled
            else None
        )

    @classmethod
    def from_context(cls, context: ProviderContext) -> S3Storage:
        """The factory the plugin registers for ``SALON_STORAGE=s3``."""
        settings = context.settings_as(S3Settings)
        return cls(settings)

    # ------------------------------------------------------------------ client

    def client_config(self) -> Config:
        """botocore retries (standard/adaptive), timeouts and addressing from the settings."""
        s = self.settings
        return client_config(
            max_attempts=s.max_attempts,
            retry_mode=s.retry_mode,
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            max_pool_connections=s.max_pool_connections,
            signature_version="s3v4",
            s3={"addressing_style": s.addressing_style},
        )

    @property
    def client(self) -> S3Client:
        """The process's client, made on first use (and again after a fork)."""
        return self._client.get()

    @property
    def browser_origins(self) -> tuple[str, ...]:
        """Plain-http endpoints (LocalStack) the gallery's CSP must allow; AWS is https."""
        endpoint = urllib.parse.urlsplit(self.client.meta.endpoint_url)
        if endpoint.scheme != "http":
            return ()
        return (f"{endpoint.scheme}://{endpoint.netloc}",)

    def _full(self, key: str) -> str:
        return self._prefix + validate_key(key)

    async def _call(self, func: Callable[..., _T], *args: Any, key: str | None = None) -> _T:
        """Run a blocking SDK call in a thread, translating its errors at the one boundary."""
        with self.boundary.errors(subject=key):
            return await call(func, *args)

    def _sse_args(self) -> dict[str, str]:
        sse = self.settings.effective_sse
        if sse is None:
            return {}
        args = {"ServerSideEncryption": sse}
        if self.settings.kms_key_id:
            args["SSEKMSKeyId"] = self.settings.kms_key_id
        return args

    # ------------------------------------------------------------------ writes

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, content_type: str) -> ObjectInfo:
        """Upload ``chunks``: one PutObject below the multipart threshold, else a multipart
        upload of ``part_size`` parts (never the whole object in memory). A failure aborts the
        multipart upload, so nothing is left under ``key`` and an older object stays intact."""
        full = self._full(key)
        iterator = aiter(chunks)
        pending: list[bytes] = []
        filled, exhausted = await _fill(iterator, pending, 0, self.settings.multipart_threshold + 1)
        if exhausted:
            body = b"".join(pending)
            pending.clear()
            response = await self._call(self._put_object, full, body, content_type, key=key)
            return ObjectInfo(key, len(body), content_type, _etag(response.get("ETag")))
        return await self._multipart(key, full, pending, filled, iterator, content_type)

    def _put_object(self, full: str, body: bytes, content_type: str) -> dict[str, Any]:
        return dict(
            self.client.put_object(
                Bucket=self.bucket,
                Key=full,
                Body=body,
                ContentType=content_type,
                **self._sse_args(),  # type: ignore[arg-type]
            )
        )

    async def _multipart(
        self,
        key: str,
        full: str,
        pending: list[bytes],
        filled: int,
        iterator: AsyncIterator[bytes],
        content_type: str,
    ) -> ObjectInfo:
        # Memory: the chunks of one part plus, while joining, one copy of them. Parts may run a
        # chunk over part_size; S3 only needs every part but the last to be at least 5 MiB.
        part_size = self.settings.part_size
        created = await self._call(self._create_multipart, full, content_type, key=key)
        upload_id = created["UploadId"]
        parts: list[CompletedPartTypeDef] = []
        size = 0
        exhausted = False
        try:
            while True:
                if not exhausted and filled < part_size:
                    filled, exhausted = await _fill(iterator, pending, filled, part_size)
                if filled == 0:
                    break
                body = b"".join(pending)
                pending.clear()
                filled = 0
                number = len(parts) + 1
                etag = await self._call(self._upload_part, full, upload_id, number, body, key=key)
                parts.append({"PartNumber": number, "ETag": etag})
                size += len(body)
                del body
                if exhausted:
                    break
            response = await self._call(self._complete, full, upload_id, parts, key=key)
        except BaseException:
            # Shielded: a cancelled request must still release the parts S3 is holding.
            with anyio.CancelScope(shield=True):
                await self._abort(full, upload_id)
            raise
        return ObjectInfo(key, size, content_type, _etag(response.get("ETag")))

    def _create_multipart(self, full: str, content_type: str) -> dict[str, Any]:
        return dict(
            self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                ContentType=content_type,
                **self._sse_args(),  # type: ignore[arg-type]
            )
        )

    def _upload_part(self, full: str, upload_id: str, number: int, body: bytes) -> str:
        response = self.client.upload_part(
            Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=body
        )
        return response["ETag"]

    def _complete(
        self, full: str, upload_id: str, parts: list[CompletedPartTypeDef]
    ) -> dict[str, Any]:
        return dict(
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        )

    async def _abort(self, full: str, upload_id: str) -> None:
        try:
            await call(
                lambda: self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload_id
                )
            )
        except (ClientError, BotoCoreError) as exc:
            # The original error matters more; a bucket lifecycle rule removes what is left.
            log.warning(
                "could not abort multipart upload of %s in %s: %s",
                full,
                self.bucket,
                self.boundary.error(exc, subject=full),
            )

    async def copy(self, source: str, dest: str, *, content_type: str) -> ObjectInfo:
        """A server-side copy: CopyObject, or a multipart copy above 5 GB (boto3's managed
        ``copy`` picks), with the new content type and this store's encryption."""
        full_source, full_dest = self._full(source), self._full(dest)
        extra = {"ContentType": content_type, "MetadataDirective": "REPLACE", **self._sse_args()}
        await self._call(
            lambda: self.client.copy(
                {"Bucket": self.bucket, "Key": full_source},
                self.bucket,
                full_dest,
                ExtraArgs=extra,
            ),
            key=source,
        )
        return await self.stat(dest)

    async def delete(self, key: str) -> None:
        """DeleteObject; S3 answers success for a missing key, so this is idempotent."""
        full = self._full(key)
        await self._call(lambda: self.client.delete_object(Bucket=self.bucket, Key=full), key=key)

    # ------------------------------------------------------------------ reads

    async def stat(self, key: str) -> ObjectInfo:
        full = self._full(key)
        head = await self._call(
            lambda: self.client.head_object(Bucket=self.bucket, Key=full), key=key
        )
        return ObjectInfo(
            key,
            int(head["ContentLength"]),
            head.get("ContentType"),
            _etag(head.get("ETag")),
            head.get("LastModified"),
        )

    async def open(self, key: str, *, chunk_size: int = 1 << 16) -> AsyncIterator[bytes]:
        """Stream the object; raises ObjectNotFound (from GetObject) before the first chunk."""
        full = self._full(key)
        response = await self._call(
            lambda: self.client.get_object(Bucket=self.bucket, Key=full), key=key
        )
        body = response["Body"]
        try:
            while True:
                chunk = await self._call(body.read, chunk_size, key=key)
                if not chunk:
                    return
                yield chunk
        finally:
            with anyio.CancelScope(shield=True):
                await call(body.close)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """ListObjectsV2 pages, fetched one at a time as the caller iterates."""
        full_prefix = self._prefix + validate_key(prefix, prefix=True)
        pages: Iterator[Any] = await self._call(
            lambda: iter(
                self.client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket,
                    Prefix=full_prefix,
                    PaginationConfig={"PageSize": self.list_page_size},
                )
            )
        )
        strip = len(self._prefix)
        while True:
            page = await self._call(next, pages, None)
            if page is None:
                return
            for item in page.get("Contents", []):
                yield ObjectInfo(
                    item["Key"][strip:],
                    int(item["Size"]),
                    None,
                    _etag(item.get("ETag")),
                    item.get("LastModified"),
                )

    # ------------------------------------------------------------------ presigning

    def _ttl(self, expires_in: int) -> int:
        if expires_in <= 0:
            raise ValueError("expires_in must be positive")
        return min(expires_in, self.settings.presign_ttl)

    async def presign_get(self, key: str, *, expires_in: int, filename: str | None = None) -> str:
        """A GET URL valid for ``expires_in`` seconds (at most ``SALON_S3_PRESIGN_TTL``); with
        ``filename`` the download is offered under that name. Renditions (keys under
        ``SALON_S3_CLOUDFRONT_PATH_PREFIX``) get a CloudFront signed URL when CloudFront is set;
        named downloads stay on S3, which alone can set the download name per URL."""
        full = self._full(key)
        cloudfront = self._cloudfront
        if cloudfront and not filename and key.startswith(self.settings.cloudfront_path_prefix):
            return cloudfront.url(full, expires_in=self._ttl(expires_in))
        params: dict[str, str] = {"Bucket": self.bucket, "Key": full}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        ttl = self._ttl(expires_in)
        # Signing may resolve credentials (a network call for task roles): off the loop.
        return await self._call(
            lambda: self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=ttl, HttpMethod="GET"
            ),
            key=key,
        )

    async def presign_post(
        self, key: str, *, content_type: str, max_size: int, expires_in: int
    ) -> PresignedPost:
        """A form that uploads exactly ``key``, with exactly ``content_type``, of 1 to
        ``max_size`` bytes, with the configured encryption, for ``expires_in`` seconds."""
        full = self._full(key)
        if max_size < 1:
            raise ValueError("max_size must be positive")
        ttl = self._ttl(expires_in)
        fields: dict[str, str] = {"Content-Type": content_type}
        conditions: list[Any] = [
            {"Content-Type": content_type},
            ["content-length-range", 1, max_size],
        ]
        for name, value in self._sse_args().items():
            header = _SSE_FIELDS[name]
            fields[header] = value
            conditions.append({header: value})
        # boto3 adds the exact {"bucket": ...} and {"key": ...} conditions itself.
        form = await self._call(
            lambda: self.client.generate_presigned_post(
                Bucket=self.bucket, Key=full, Fields=fields, Conditions=conditions, ExpiresIn=ttl
            ),
            key=key,
        )
        expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl)
        fields_out = {name: str(value) for name, value in form["fields"].items()}
        return PresignedPost(url=form["url"], fields=fields_out, expires_at=expires_at)

    def local_path(self, key: str) -> None:
        """S3 objects have no local file."""
        return None

    async def check(self) -> None:
        """Readiness: list at most one key under this store's ``originals/``. Not HeadBucket:
        AWS authorises that as an unconditioned ``s3:ListBucket``, and the task roles may list
        only their prefix (deploy/terraform/modules/iam). Missing bucket, refused access or
        missing credentials raise ConfigurationError saying which; an unreachable endpoint
        too."""
        probe = self._prefix + "originals/"
        try:
            await call(
                lambda: self.client.list_objects_v2(Bucket=self.bucket, Prefix=probe, MaxKeys=1)
            )
        except (ClientError, BotoCoreError) as exc:
            error = self.boundary.error(exc)
            if not isinstance(error, ConfigurationError):
                error = ConfigurationError(f"S3 bucket {self.bucket!r} is not usable: {error}")
            raise error from exc


_SSE_FIELDS: Final = {
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
}


async def _fill(
    iterator: AsyncIterator[bytes], pending: list[bytes], filled: int, target: int
) -> tuple[int, bool]:
    """Append chunks to ``pending`` until ``target`` bytes; return (bytes held, exhausted)."""
    while filled < target:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return filled, True
        if chunk:
            # A caller may reuse one buffer for every chunk: keep an immutable copy.
            pending.append(chunk if isinstance(chunk, bytes) else bytes(chunk))
            filled += len(chunk)
    return filled, False


def _etag(value: object) -> str | None:
    return value.strip('"') if isinstance(value, str) else None
