#!/usr/bin/env bash
# LocalStack "ready" init hook (Docker users): creates Salon's bucket (with the CORS rule the
# browser's direct uploads need) and job queues. The host-mode launcher (run.sh) runs
# bootstrap.py instead, which does the same with boto3 and also prints Salon's settings; with
# the container running, `LOCALSTACK_EXTERNAL_URL=http://127.0.0.1:4566 bash
# deploy/localstack/run.sh start` prints them without starting anything.
set -euo pipefail
BUCKET="${LOCALSTACK_BUCKET:-salon-media}"
QUEUE="${LOCALSTACK_QUEUE:-salon-jobs}"
awslocal s3api head-bucket --bucket "$BUCKET" 2>/dev/null || awslocal s3api create-bucket --bucket "$BUCKET"
# Any origin: a local emulator with test data, opened from whichever port the gallery uses.
awslocal s3api put-bucket-cors --bucket "$BUCKET" --cors-configuration \
  '{"CORSRules":[{"AllowedOrigins":["*"],"AllowedMethods":["GET","HEAD","PUT","POST"],"AllowedHeaders":["*"],"ExposeHeaders":["ETag","Location"],"MaxAgeSeconds":3000}]}'
DLQ_URL=$(awslocal sqs create-queue --queue-name "${QUEUE}-dlq" --query QueueUrl --output text)
DLQ_ARN=$(awslocal sqs get-queue-attributes --queue-url "$DLQ_URL" \
  --attribute-names QueueArn --query Attributes.QueueArn --output text)
# The job queue and the long jobs' queue (videos; SALON_SQS_LONG_QUEUE_URL), one DLQ.
for NAME in "$QUEUE" "${QUEUE}-long"; do
  awslocal sqs create-queue --queue-name "$NAME" --attributes \
    "{\"VisibilityTimeout\":\"60\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"${DLQ_ARN}\\\",\\\"maxReceiveCount\\\":\\\"3\\\"}\"}"
done
echo "salon: bucket ${BUCKET}, queues ${QUEUE} and ${QUEUE}-long (DLQ ${QUEUE}-dlq) ready"
