# The job queue (SALON_SQS_QUEUE_URL): jobs from the web service, and S3 "object created"
# events for direct uploads; and the long jobs' queue (SALON_SQS_LONG_QUEUE_URL): videos, which
# the worker's long slots take, so its short slots never wait behind one (issue 17). A message
# that fails max_receive_count times goes to the shared DLQ instead of poisoning the worker;
# alarms say when the DLQ fills or jobs wait too long.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  tags = merge(var.tags, { "salon:module" = "queue" })
  sse  = var.kms_key_arn == null
  # ARNs are known before the queues exist, so each policy can be written inline: no separate
  # policy resources (each SQS change waits ~25 s for attribute propagation) and no cycle.
  arn_prefix = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  queue_arn  = "${local.arn_prefix}:${var.name}"
  long_arn   = "${local.arn_prefix}:${var.name}-long"
  dlq_arn    = "${local.arn_prefix}:${var.name}-dlq"
  queues = {
    jobs = aws_sqs_queue.this.name
    long = aws_sqs_queue.long.name
  }
  # Both job queues: dead-letter into the one DLQ, and refuse unencrypted transport.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
  deny_insecure = {
    for arn in [local.queue_arn, local.long_arn] : arn => {
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:*"
      Resource  = arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }
  }
}

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = local.sse ? true : null
  kms_master_key_id         = var.kms_key_arn

  # Only the two job queues may use this queue as their dead-letter target.
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.queue_arn, local.long_arn]
  })

  tags = local.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = local.sse ? true : null
  kms_master_key_id          = var.kms_key_arn

  redrive_policy = local.redrive_policy

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [local.deny_insecure[local.queue_arn]],
      length(var.s3_source_bucket_arns) == 0 ? [] : [{
        Sid       = "AllowUploadEventsFromBucket"
        Effect    = "Allow"
        Principal = { Service = "s3.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = local.queue_arn
        Condition = {
          ArnLike      = { "aws:SourceArn" = var.s3_source_bucket_arns }
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        }
      }],
    )
  })

  tags = local.tags
}

# Long jobs (videos): received only by the worker's long slots. One queue whose short slots
# handed long messages back would count a receive each time and dead-letter a waiting video.
resource "aws_sqs_queue" "long" {
  name                       = "${var.name}-long"
  visibility_timeout_seconds = var.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = local.sse ? true : null
  kms_master_key_id          = var.kms_key_arn

  redrive_policy = local.redrive_policy

  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.deny_insecure[local.long_arn]]
  })

  tags = local.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_depth" {
  count = var.alarms_enabled ? 1 : 0

  alarm_name          = "${var.name}-dlq-not-empty"
  alarm_description   = "Jobs failed ${var.max_receive_count} times and were dead-lettered; inspect ${aws_sqs_queue.dlq.name} and redrive after the fix."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "oldest_message" {
  for_each = var.alarms_enabled ? local.queues : {}

  alarm_name          = each.key == "jobs" ? "${var.name}-oldest-message-age" : "${var.name}-long-oldest-message-age"
  alarm_description   = "A job in ${each.value} has waited more than ${var.oldest_message_alarm_seconds}s: the worker is down, stuck or too small."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.oldest_message_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

# The age alarm became one per queue: the existing one keeps its place (no destroy/create).
moved {
  from = aws_cloudwatch_metric_alarm.oldest_message[0]
  to   = aws_cloudwatch_metric_alarm.oldest_message["jobs"]
}
