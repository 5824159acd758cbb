"""The SQS job queue.

The AWS boundary is :mod:`salon.aws`: every boto3 call runs in a worker thread, one client per
process is made on first use (botocore's standard retry mode, explicit timeouts) and again in a
forked child, and every failure is a QueueUnavailable naming the operation and the AWS code.

Messages:

- a job: ``{"job_id": "<uuid>"}``, the only thing ``enqueue`` sends;
- S3 event notifications (when the uploads bucket notifies this queue): ``ObjectCreated:*``
  records become deliveries with a :class:`~salon.providers.StorageEvent` for the key (their
  ``job_id`` is the SQS message id), so the core can complete direct uploads; the
  ``s3:TestEvent`` S3 sends when a notification is configured is deleted and skipped;
- anything else is logged (first 200 characters) and deleted: it can never become a job.

Dead letters: when the queue has a redrive policy, :meth:`SqsQueue.receive_dead_letter` reads
its dead-letter queue so the worker can mark those jobs failed.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from salon.aws import AwsBoundary, Fault, LazyClient, call, client_config, fault_of
from salon.errors import ConfigurationError, QueueUnavailable
from salon.providers import Delivery, ProviderContext, StorageEvent

from salon_aws_queue.settings import MAX_WAIT_SECONDS, SqsSettings

if TYPE_CHECKING:
    from types_boto3_sqs.client import SQSClient

__all__ = ["SqsQueue", "parse_message"]

log = logging.getLogger("salon.queue.sqs")

ClientFactory = Callable[[Config], "SQSClient"]
_REGION_IN_URL = re.compile(r"^https?://sqs[.-]([a-z0-9-]+)\.")


def default_client_factory(config: Config) -> SQSClient:
    """boto3's standard chain: AWS_ENDPOINT_URL(_SQS), AWS_REGION, profiles, task roles."""
    import boto3

    return boto3.session.Session().client("sqs", config=config)


def parse_message(body: str) -> tuple[str, str | None]:
    """Classify a message body: ``("job", id)``, ``("s3", key)``, ``("test", None)`` or
    ``("unknown", None)``."""
    try:
        data = json.loads(body)
    except ValueError:
        return "unknown", None
    if not isinstance(data, dict):
        return "unknown", None
    job_id = data.get("job_id")
    if isinstance(job_id, str) and job_id:
        return "job", job_id
    if data.get("Event") == "s3:TestEvent":
        return "test", None
    records = data.get("Records")
    if isinstance(records, list) and records:
        # S3 puts one record in each notification message.
        record = records[0]
        if (
            isinstance(record, dict)
            and record.get("eventSource") == "aws:s3"
            and str(record.get("eventName", "")).startswith("ObjectCreated:")
        ):
            key = record.get("s3", {}).get("object", {}).get("key")
            if isinstance(key, str) and key:
                # Keys arrive URL-encoded, spaces as '+'.
                return "s3", urllib.parse.unquote_plus(key)
    return "unknown", None


class SqsQueue:
    """A :class:`~salon.providers.JobQueue` on one SQS queue. See the module docstring."""

    def __init__(
        self, settings: SqsSettings, *, client_factory: ClientFactory = default_client_factory
    ) -> None:
        if not settings.queue_url:
            raise ConfigurationError("SALON_SQS_QUEUE_URL is required when SALON_QUEUE=sqs")
        self.settings = settings
        self.queue_url = settings.queue_url
        self.visibility_timeout = settings.visibility_timeout
        self.max_receives = settings.max_receives
        # The worker long-polls this long (SALON_SQS_WAIT_SECONDS).
        self.wait_seconds = settings.wait_seconds
        self._client_factory = client_factory
        self._client = LazyClient(self._make_client)
        # The JobQueue contract: a failed call is QueueUnavailable (create_job relies on it).
        self.boundary = AwsBoundary("SQS", QueueUnavailable, configuration_faults=False)
        self._dlq_url: str | None = None
        self._dlq_checked = False

    @classmethod
    def from_context(cls, ctx: ProviderContext) -> SqsQueue:
        settings = ctx.settings if isinstance(ctx.settings, SqsSettings) else SqsSettings()
        return cls(settings)

    # ------------------------------------------------------------------ client

    def _config(self) -> Config:
        match = _REGION_IN_URL.match(self.queue_url)
        return client_config(
            # The URL names the region on AWS; elsewhere the standard chain must.
            region_name=match.group(1) if match else None,
            max_attempts=6,
            connect_timeout=5,
            # A long poll holds the response for up to 20 s.
            read_timeout=MAX_WAIT_SECONDS + 10,
            max_pool_connections=20,
        )

    def _make_client(self) -> SQSClient:
        try:
            return self._client_factory(self._config())
        except BotoCoreError as exc:
            raise ConfigurationError(
                f"cannot make an SQS client: {type(exc).__name__}: {exc}"
            ) from exc

    def client(self) -> SQSClient:
        """The process's client, made on first use (and again after a fork)."""
        return self._client.get()

    async def _call(self, operation: str, function: Callable[[], Any]) -> Any:
        with self.boundary.errors(operation):
            return await call(function)

    # ------------------------------------------------------------------ JobQueue

    async def enqueue(self, job_id: str) -> None:
        """Send ``{"job_id": ...}``; raises QueueUnavailable when SQS does not take it."""
        body = json.dumps({"job_id": job_id})
        await self._call(
            "SendMessage",
            lambda: self.client().send_message(QueueUrl=self.queue_url, MessageBody=body),
        )

    async def receive(self, *, wait_seconds: float) -> Delivery | None:
        """Long-poll for one job message; S3 test events and junk are deleted on the way."""
        deadline = time.monotonic() + max(wait_seconds, 0)
        while True:
            remaining = deadline - time.monotonic()
            wait = min(MAX_WAIT_SECONDS, max(0, math.ceil(remaining)))
            message = await self._receive_one(self.queue_url, wait, self.visibility_timeout)
            if message is not None:
                delivery = await self._to_delivery(self.queue_url, message)
                if delivery is not None:
                    return delivery
                continue
            if deadline - time.monotonic() <= 0:
                return None

    async def _receive_one(self, queue_url: str, wait: int, visibility: int) -> Any:
        def call() -> Any:
            response = self.client().receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=wait,
                VisibilityTimeout=visibility,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
            messages = response.get("Messages") or []
            return messages[0] if messages else None

        return await self._call("ReceiveMessage", call)

    async def _to_delivery(self, queue_url: str, message: Any) -> Delivery | None:
        kind, value = parse_message(message.get("Body", ""))
        receipt = message["ReceiptHandle"]
        count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        if kind == "job" and value is not None:
            return Delivery(job_id=value, receipt=receipt, receive_count=count)
        if kind == "s3" and value is not None:
            event = StorageEvent(key=value)
            name = str(message.get("MessageId", ""))
            return Delivery(job_id=name, receipt=receipt, receive_count=count, storage_event=event)
        if kind == "test":
            log.info("S3 test event on the queue skipped")
        else:
            log.warning("unrecognised SQS message deleted: %.200r", message.get("Body", ""))
        await self._delete(queue_url, receipt)
        return None

    async def _delete(self, queue_url: str, receipt: str) -> bool:
        return await self._tolerate_stale(
            "DeleteMessage",
            lambda: self.client().delete_message(QueueUrl=queue_url, ReceiptHandle=receipt),
        )

    async def _tolerate_stale(self, operation: str, function: Callable[[], Any]) -> bool:
        """Run ``function``; a stale or unknown receipt is not an error (returns False)."""

        def run() -> bool:
            try:
                function()
            except ClientError as exc:
                # A receipt from before a redelivery, or of a deleted message: the contract
                # says ack, extend and release with it do nothing.
                if fault_of(exc) is Fault.STALE_RECEIPT:
                    return False
                raise
            return True

        done: bool = await self._call(operation, run)
        if not done:
            log.info("SQS %s ignored: the receipt is no longer current", operation)
        return done

    async def ack(self, delivery: Delivery) -> None:
        """Delete the message (a stale receipt is ignored)."""
        await self._delete(self.queue_url, delivery.receipt)

    async def extend(self, delivery: Delivery, seconds: int) -> None:
        """Hide the message for ``seconds`` more from now (a heartbeat)."""
        timeout = max(0, min(int(seconds), 12 * 3600))
        await self._change_visibility(delivery, timeout)

    async def release(self, delivery: Delivery) -> None:
        """Make the message visible again at once."""
        await self._change_visibility(delivery, 0)

    async def _change_visibility(self, delivery: Delivery, seconds: int) -> None:
        await self._tolerate_stale(
            "ChangeMessageVisibility",
            lambda: self.client().change_message_visibility(
                QueueUrl=self.queue_url, ReceiptHandle=delivery.receipt, VisibilityTimeout=seconds
            ),
        )

    async def check(self) -> None:
        """Readiness: the queue exists and we may read its attributes."""
        try:
            await self._call(
                "GetQueueAttributes",
                lambda: self.client().get_queue_attributes(
                    QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
                ),
            )
        except QueueUnavailable as exc:
            raise ConfigurationError(f"SQS queue is not usable: {exc}") from exc

    async def close(self) -> None:
        await call(self._client.close)

    # ------------------------------------------------------------------ dead letters

    async def dead_letter_queue_url(self) -> str | None:
        """The URL of the queue's redrive target, or None without a redrive policy."""
        if self._dlq_checked:
            return self._dlq_url

        def find() -> str | None:
            attributes = (
                self.client()
                .get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["RedrivePolicy"])
                .get("Attributes", {})
            )
            policy = attributes.get("RedrivePolicy")
            if not policy:
                return None
            arn = str(json.loads(policy)["deadLetterTargetArn"])
            _, _, _, _, account, name = arn.split(":", 5)
            url = self.client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            return str(url["QueueUrl"])

        self._dlq_url = await self._call("GetQueueAttributes", find)
        self._dlq_checked = True
        return self._dlq_url

    async def receive_dead_letter(self) -> Delivery | None:
        """One message from the dead-letter queue (no waiting), or None."""
        dlq = await self.dead_letter_queue_url()
        if dlq is None:
            return None
        while True:
            message = await self._receive_one(dlq, 0, self.visibility_timeout)
            if message is None:
                return None
            delivery = await self._to_delivery(dlq, message)
            if delivery is not None:
                return delivery

    async def ack_dead_letter(self, delivery: Delivery) -> None:
        """Delete a message received with :meth:`receive_dead_letter`."""
        dlq = await self.dead_letter_queue_url()
        if dlq is not None:
            await self._delete(dlq, delivery.receipt)
