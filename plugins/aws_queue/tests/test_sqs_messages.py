"""SQS message handling: job bodies, S3 event notifications (moto and real LocalStack S3),
junk, and settings validated at start-up."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import boto3
import pytest
from salon.errors import ConfigurationError
from salon.providers import StorageEvent
from salon.runtime import build_runtime, load_settings
from salon_aws_queue import SqsSettings, parse_message

from .conftest import CREDENTIALS, REGION, create_queue, make_queue, sqs_client


def s3_event(key: str, name: str = "ObjectCreated:Put") -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": name,
                    "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 3}},
                }
            ]
        }
    )


TEST_EVENT = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"})


def test_parse_message_kinds() -> None:
    assert parse_message('{"job_id": "abc"}') == ("job", "abc")
    assert parse_message(s3_event("uploads/my+photo%281%29.jpg")) == (
        "s3",
        "uploads/my photo(1).jpg",
    )
    assert parse_message(TEST_EVENT) == ("test", None)
    assert parse_message(s3_event("uploads/a.jpg", "ObjectRemoved:Delete")) == ("unknown", None)
    for junk in ("not json", "[]", "{}", '{"job_id": ""}', '{"Records": "x"}'):
        assert parse_message(junk) == ("unknown", None)


async def test_s3_events_and_junk_on_the_queue(moto_url: str) -> None:
    url = create_queue(moto_url)["queue"]
    client = sqs_client(moto_url)
    for body in (TEST_EVENT, "garbage", s3_event("uploads/a%20b.jpg")):
        client.send_message(QueueUrl=url, MessageBody=body)
    queue = make_queue(moto_url, url)
    delivery = await queue.receive(wait_seconds=2)
    assert delivery is not None
    assert delivery.storage_event == StorageEvent(key="uploads/a b.jpg")
    assert delivery.job_id and not delivery.job_id.startswith("s3:")  # the SQS message id
    await queue.ack(delivery)
    # The test event and the junk were deleted, not left to cycle into a DLQ.
    assert await queue.receive(wait_seconds=queue.visibility_timeout + 1) is None
    await queue.close()


def test_settings_are_validated_at_start_up(tmp_path: Path) -> None:
    base = {"SALON_DATA_DIR": str(tmp_path), "SALON_SECRET_KEY": "k" * 32}
    with pytest.raises(ConfigurationError, match="SQS"):
        load_settings({**base, "SALON_SQS_WAIT_SECONDS": "30"})
    with pytest.raises(ConfigurationError, match="SALON_SQS_COLOUR"):
        load_settings({**base, "SALON_SQS_COLOUR": "blue"})
    settings, pm, registry = load_settings({**base, "SALON_QUEUE": "sqs"})
    assert settings.plugin("SQS") == SqsSettings()
    with pytest.raises(ConfigurationError, match="SALON_SQS_QUEUE_URL"):
        build_runtime(settings, pm, registry)


async def test_check_reports_missing_queue_without_secrets(moto_url: str) -> None:
    queue = make_queue(moto_url, f"{moto_url}/123456789012/missing-queue")
    with pytest.raises(ConfigurationError) as info:
        await queue.check()
    message = str(info.value)
    assert "GetQueueAttributes" in message
    assert "NonExistentQueue" in message or "QueueDoesNotExist" in message
    # Only the operation and the AWS error code: no signed request, no credentials.
    assert "Signature" not in message and "Credential" not in message
    await queue.close()


@pytest.mark.localstack
async def test_real_s3_notifications_on_localstack(localstack_endpoint: str) -> None:
    """LocalStack S3 notifies the queue: the TestEvent is skipped, uploads/ objects arrive."""
    urls = create_queue(localstack_endpoint)
    sqs = sqs_client(localstack_endpoint)
    arn = sqs.get_queue_attributes(QueueUrl=urls["queue"], AttributeNames=["QueueArn"])
    s3 = boto3.session.Session(region_name=REGION, **CREDENTIALS).client(
        "s3", endpoint_url=localstack_endpoint
    )
    bucket = f"salon-events-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": arn["Attributes"]["QueueArn"],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                }
            ]
        },
    )
    s3.put_object(Bucket=bucket, Key="other/skip.jpg", Body=b"x")
    s3.put_object(Bucket=bucket, Key="uploads/new photo.jpg", Body=b"abc")
    queue = make_queue(localstack_endpoint, urls["queue"])
    deadline = time.monotonic() + 15
    got = []
    while time.monotonic() < deadline and not got:
        delivery = await queue.receive(wait_seconds=2)
        if delivery is not None:
            got.append(delivery)
            await queue.ack(delivery)
    assert [d.storage_event for d in got] == [StorageEvent(key="uploads/new photo.jpg")]
    assert await queue.receive(wait_seconds=1) is None
    await queue.close()
    for key in ("other/skip.jpg", "uploads/new photo.jpg"):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
