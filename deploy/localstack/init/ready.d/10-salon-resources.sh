#!/usr/bin/env bash
# LocalStack "ready" init hook (Docker users): creates Salon's bucket and job queues.
# The host-mode launcher (run.sh) runs bootstrap.py instead, which does the same with boto3.
set -euo pipefail
BUCKET="${SALON_LOCALSTACK_BUCKET:-salon-media}"
QUEUE="${SALON_LOCALSTACK_QUEUE:-salon-jobs}"
awslocal s3api head-bucket --bucket "$BUCKET" 2>/dev/null || awslocal s3api create-bucket --bucket "$BUCKET"
DLQ_URL=$(awslocal sqs create-queue --queue-name "${QUEUE}-dlq" --query QueueUrl --output text)
DLQ_ARN=$(awslocal sqs get-queue-attributes --queue-url "$DLQ_URL" \
  --attribute-names QueueArn --query Attributes.QueueArn --output text)
awslocal sqs create-queue --queue-name "$QUEUE" --attributes \
  "{\"VisibilityTimeout\":\"60\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"${DLQ_ARN}\\\",\\\"maxReceiveCount\\\":\\\"3\\\"}\"}"
echo "salon: bucket ${BUCKET}, queue ${QUEUE} (DLQ ${QUEUE}-dlq) ready"
