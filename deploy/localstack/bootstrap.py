"""Create Salon's LocalStack resources and print the settings that point Salon at them.

Resources (idempotent): bucket ``salon-media`` with a CORS rule (the browser uploads straight
into it with a presigned POST), queue ``salon-jobs``, the long jobs' queue ``salon-jobs-long``
(videos: the worker's short slots never wait behind them) and their dead-letter queue
``salon-jobs-dlq`` (redrive after 3 receives).

Run by ``run.sh start`` with LocalStack's own interpreter (boto3 comes with localstack-core).
Progress goes to stderr; stdout gets only ``export`` lines, for ``eval "$(run.sh start)"``.
Docker users get the same resources from ``init/ready.d/10-salon-resources.sh``.

Environment (none starts with ``SALON_``: Salon refuses unknown ``SALON_*`` names):
``LOCALSTACK_URL`` (default ``http://127.0.0.1:4566``), ``LOCALSTACK_BUCKET``,
``LOCALSTACK_QUEUE``, ``LOCALSTACK_CORS_ORIGINS`` (comma-separated, default ``*``).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from typing import Any

import boto3

ENDPOINT = os.environ.get("LOCALSTACK_URL", "http://127.0.0.1:4566").rstrip("/")
BUCKET = os.environ.get("LOCALSTACK_BUCKET", "salon-media")
QUEUE = os.environ.get("LOCALSTACK_QUEUE", "salon-jobs")
# `*` lets the gallery upload from whatever port or host name it is opened on. That is only
# acceptable because this is a local emulator holding test data; production buckets get no
# CORS rule from here (deploy/terraform sets theirs to the gallery's own origin).
CORS_ORIGINS = [
    o.strip() for o in os.environ.get("LOCALSTACK_CORS_ORIGINS", "*").split(",") if o.strip()
]
MAX_RECEIVE_COUNT = 3
REGION = "us-east-1"


def cors_rules(origins: list[str]) -> dict[str, Any]:
    """What a presigned POST or PUT from the browser, and a GET of a rendition, need."""
    return {
        "CORSRules": [
            {
                "AllowedOrigins": origins,
                "AllowedMethods": ["GET", "HEAD", "PUT", "POST"],
                "AllowedHeaders": ["*"],
                "ExposeHeaders": ["ETag", "Location"],
                "MaxAgeSeconds": 3000,
            }
        ]
    }


def salon_environment(queue_url: str, long_queue_url: str) -> dict[str, str]:
    """The variables that make `make run` keep every byte and job in this LocalStack."""
    return {
        "AWS_ENDPOINT_URL": ENDPOINT,
        # botocore reads AWS_DEFAULT_REGION; newer SDKs and tools read AWS_REGION: set both.
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "SALON_STORAGE": "s3",
        "SALON_S3_BUCKET": BUCKET,
        "SALON_QUEUE": "sqs",
        "SALON_SQS_QUEUE_URL": queue_url,
        "SALON_SQS_LONG_QUEUE_URL": long_queue_url,
        "SALON_SQS_MAX_RECEIVES": str(MAX_RECEIVE_COUNT),
        # No separate `salon worker` needed locally: the web process consumes the queue too.
        "SALON_INPROCESS_WORKER": "true",
    }


def export_lines(env: Mapping[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items())


def main() -> int:
    # LocalStack accepts any credentials; these are not secrets.
    session = boto3.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - LocalStack accepts any credentials
        region_name=REGION,
    )
    s3 = session.client("s3", endpoint_url=ENDPOINT)
    sqs = session.client("sqs", endpoint_url=ENDPOINT)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if BUCKET not in existing:
        s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_cors(Bucket=BUCKET, CORSConfiguration=cors_rules(CORS_ORIGINS))  # type: ignore[arg-type]
    dlq_url = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
    urls = []
    for name in (QUEUE, f"{QUEUE}-long"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        # set_queue_attributes also updates a queue made earlier without the policy.
        sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "60"}
        )
        urls.append(url)
    queue_url, long_queue_url = urls
    print(
        f"salon: bucket {BUCKET} (CORS {','.join(CORS_ORIGINS)}), queues {queue_url} and "
        f"{long_queue_url} (DLQ {dlq_url}) ready",
        file=sys.stderr,
    )
    sys.stdout.write(export_lines(salon_environment(queue_url, long_queue_url)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
