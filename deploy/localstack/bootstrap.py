"""Create Salon's LocalStack resources: bucket ``salon-media``, queue ``salon-jobs`` and its
dead-letter queue ``salon-jobs-dlq`` (redrive after 3 receives). Idempotent.

Run by ``run.sh start`` with LocalStack's own interpreter (boto3 comes with localstack-core).
Docker users get the same from ``init/ready.d/10-salon-resources.sh``.
"""

from __future__ import annotations

import json
import os
import sys

import boto3

ENDPOINT = os.environ.get("SALON_LOCALSTACK_URL", "http://127.0.0.1:4566")
BUCKET = os.environ.get("SALON_LOCALSTACK_BUCKET", "salon-media")
QUEUE = os.environ.get("SALON_LOCALSTACK_QUEUE", "salon-jobs")
MAX_RECEIVE_COUNT = 3


def main() -> int:
    # LocalStack accepts any credentials; these are not secrets.
    session = boto3.Session(
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - LocalStack accepts any credentials
        region_name="us-east-1",
    )
    s3 = session.client("s3", endpoint_url=ENDPOINT)
    sqs = session.client("sqs", endpoint_url=ENDPOINT)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if BUCKET not in existing:
        s3.create_bucket(Bucket=BUCKET)
    dlq_url = sqs.create_queue(QueueName=f"{QUEUE}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    # set_queue_attributes also updates a queue made earlier without the policy.
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "60"}
    )
    print(f"salon: bucket {BUCKET}, queue {queue_url} (DLQ {dlq_url}) ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
