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

Lanes: with ``SALON_SQS_LONG_QUEUE_URL`` long jobs (videos) go to a second queue and the worker's
short slots long-poll only the first, so a short job never waits behind a video while every
long slot is busy (:class:`~salon.providers.JobLanes`). One queue whose short slots hand long
messages back (visibility 0) would not do: every hand-back is a receive, so a long job waiting
for a busy long slot would reach the redrive policy's ``maxReceiveCount`` and be dead-lettered
(failed) without ever running, and the short slots would spin through long messages, one
request each, to find the short ones. Without the second queue it keeps one lane.

Dead letters: when a queue has a redrive policy, :meth:`SqsQueue.receive_dead_letter` reads its
dead-letter queue (both queues' when they differ) so the worker can mark those jobs failed.
"""

from __future__ import annotations

import functools
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
from salon.providers import JOB_LANES, LONG, SHORT, Delivery, ProviderContext, StorageEvent

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
    """A :class:`~salon.providers.JobQueue` on one SQS queue, or two with lanes (a
    :class:`~salon.providers.JobLanes` then). See the module docstring."""

    def __init__(
        self, settings: SqsSettings, *, client_factory: ClientFactory = default_client_factory
    ) -> None:
        if not settings.queue_url:
            raise ConfigurationError("SALON_SQS_QUEUE_URL is required when SALON_QUEUE=sqs")
        self.settings = settings
        self.queue_url = settings.queue_url
        # Lane -> queue URL: long jobs in a queue of their own when one is configured.
        self.urls = {SHORT: settings.queue_url, LONG: settings.long_queue_url or settings.queue_url}
        self.visibility_timeout = settings.visibility_timeout
        self.max_receives = settings.max_receives
        # The worker long-polls this long (SALON_SQS_WAIT_SECONDS).
        self.wait_seconds = settings.wait_seconds
        self._client_factory = client_factory
        self._client = LazyClient(self._make_client)
        # The JobQueue contract: a failed call is QueueUnavailable (create_job relies on it).
        self.boundary = AwsBoundary("SQS", QueueUnavailable, configuration_faults=False)
        self._dlqs: dict[str, str] | None = None

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

    @property
    def lanes_apart(self) -> bool:
        """Long jobs have a queue of their own (``SALON_SQS_LONG_QUEUE_URL``)."""
        return self.urls[LONG] != self.urls[SHORT]

    def _url(self, lane: str) -> str:
        if lane not in JOB_LANES:
            raise ValueError(f"lane {lane!r} is not one of {', '.join(JOB_LANES)}")
        return self.urls[lane]

    async def enqueue(self, job_id: str, *, lane: str = SHORT) -> None:
        """Send ``{"job_id": ...}`` to ``lane``'s queue; raises QueueUnavailable when SQS does
        not take it."""
        body = json.dumps({"job_id": job_id})
        url = self._url(lane)
        await self._call(
            "SendMessage",
            lambda: self.client().send_message(QueueUrl=url, MessageBody=body),
        )

    async def receive(self, *, wait_seconds: float, lane: str = SHORT) -> Delivery | None:
        """Long-poll ``lane``'s queue for one job message; S3 test events and junk are deleted
        on the way."""
        url = self._url(lane)
        lane = lane if self.lanes_apart else SHORT
        deadline = time.monotonic() + max(wait_seconds, 0)
        while True:
            remaining = deadline - time.monotonic()
            wait = min(MAX_WAIT_SECONDS, max(0, math.ceil(remaining)))
            message = await self._receive_one(url, wait, self.visibility_timeout)
            if message is not None:
                delivery = await self._to_delivery(url, message, lane)
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

    async def _to_delivery(self, queue_url: str, message: Any, lane: str) -> Delivery | None:
        kind, value = parse_message(message.get("Body", ""))
        receipt = message["ReceiptHandle"]
        count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
        if kind == "job" and value is not None:
            return Delivery(job_id=value, receipt=receipt, receive_count=count, lane=lane)
        if kind == "s3" and value is not None:
            event = StorageEvent(key=value)
            name = str(message.get("MessageId", ""))
            return Delivery(
                job_id=name, receipt=receipt, receive_count=count, storage_event=event, lane=lane
            )
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
        await self._delete(self._url(delivery.lane), delivery.receipt)

    async def extend(self, delivery: Delivery, seconds: int) -> None:
        """Hide the message for ``seconds`` more from now (a heartbeat)."""
        timeout = max(0, min(int(seconds), 12 * 3600))
        await self._change_visibility(delivery, timeout)

    async def release(self, delivery: Delivery) -> None:
        """Make the message visible again at once."""
        await self._change_visibility(delivery, 0)

    async def _change_visibility(self, delivery: Delivery, seconds: int) -> None:
        url = self._url(delivery.lane)
        await self._tolerate_stale(
            "ChangeMessageVisibility",
            lambda: self.client().change_message_visibility(
                QueueUrl=url, ReceiptHandle=delivery.receipt, VisibilityTimeout=seconds
            ),
        )

    async def check(self) -> None:
        """Readiness: the queues exist and we may read their attributes."""
        try:
            for url in dict.fromkeys(self.urls.values()):
                await self._call("GetQueueAttributes", functools.partial(self._arn_of, url))
        except QueueUnavailable as exc:
            raise ConfigurationError(f"SQS queue is not usable: {exc}") from exc

    def _arn_of(self, url: str) -> Any:
        return self.client().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])

    async def close(self) -> None:
        await call(self._client.close)

    # ------------------------------------------------------------------ dead letters

    async def dead_letter_queues(self) -> dict[str, str]:
        """Lane -> URL of its queue's redrive target, each target once (the Terraform's two
        queues share one); empty without redrive policies."""
        if self._dlqs is not None:
            return self._dlqs

        def find(url: str) -> str | None:
            attributes = (
                self.client()
                .get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
                .get("Attributes", {})
            )
            policy = attributes.get("RedrivePolicy")
            if not policy:
                return None
            arn = str(json.loads(policy)["deadLetterTargetArn"])
            _, _, _, _, account, name = arn.split(":", 5)
            found = self.client().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            return str(found["QueueUrl"])

        dlqs: dict[str, str] = {}
        lanes = JOB_LANES if self.lanes_apart else (SHORT,)
        for lane in lanes:
            dlq = await self._call("GetQueueAttributes", functools.partial(find, self.urls[lane]))
            if dlq is not None and dlq not in dlqs.values():
                dlqs[lane] = dlq
        self._dlqs = dlqs
        return dlqs

    async def dead_letter_queue_url(self) -> str | None:
        """The URL of the (first) queue's redrive target, or None without a redrive policy."""
        return next(iter((await self.dead_letter_queues()).values()), None)

    async def receive_dead_letter(self) -> Delivery | None:
        """One message from a dead-letter queue (no waiting), or None; its ``lane`` names the
        dead-letter queue for :meth:`ack_dead_letter`."""
        for lane, dlq in (await self.dead_letter_queues()).items():
            while True:
                message = await self._receive_one(dlq, 0, self.visibility_timeout)
                if message is None:
                    break
                delivery = await self._to_delivery(dlq, message, lane)
                if delivery is not None:
                    return delivery
        return None

    async def ack_dead_letter(self, delivery: Delivery) -> None:
        """Delete a message received with :meth:`receive_dead_letter`."""
        dlq = (await self.dead_letter_queues()).get(delivery.lane)
        if dlq is not None:
            await self._delete(dlq, delivery.receipt)
