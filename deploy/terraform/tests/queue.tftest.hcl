# The queue module under a mocked AWS provider: nothing is created, nothing is reached.
mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:mocked" }
  }
}

variables {
  name                  = "salon-test-jobs"
  s3_source_bucket_arns = ["arn:aws:s3:::salon-test-media"]
  alarm_actions         = ["arn:aws:sns:eu-west-1:123456789012:alarms"]
}

run "redrive_to_dlq" {
  module {
    source = "./modules/queue"
  }

  command = apply

  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq.arn
    error_message = "The job queue must dead-letter into its own DLQ."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.this.redrive_policy).maxReceiveCount == 5
    error_message = "Poison messages must leave the queue after max_receive_count (5) receives."
  }

  assert {
    condition     = aws_sqs_queue.dlq.name == "salon-test-jobs-dlq" && aws_sqs_queue.dlq.message_retention_seconds == 1209600
    error_message = "The DLQ keeps messages the maximum 14 days for inspection and redrive."
  }

  assert {
    condition     = aws_sqs_queue.this.visibility_timeout_seconds >= 900 && aws_sqs_queue.this.receive_wait_time_seconds == 20
    error_message = "Long jobs need a long visibility timeout, and the worker long-polls."
  }

  assert {
    condition     = aws_sqs_queue.this.sqs_managed_sse_enabled == true && aws_sqs_queue.dlq.sqs_managed_sse_enabled == true
    error_message = "Both queues are encrypted at rest."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.dlq.redrive_allow_policy).redrivePermission == "byQueue"
    error_message = "Only the job queue may use the DLQ."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.dlq.redrive_allow_policy).sourceQueueArns == ["arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs", "arn:aws:sqs:eu-west-1:123456789012:salon-test-jobs-long"]
    error_message = "The DLQ admits exactly the two job queues' ARNs."
  }
}

run "long_jobs_have_a_queue_of_their_own" {
  module {
    source = "./modules/queue"
  }

  command = apply

  assert {
    condition     = aws_sqs_queue.long.name == "salon-test-jobs-long" && output.long_queue_name == "salon-test-jobs-long"
    error_message = "Long jobs (videos) go to <name>-long (SALON_SQS_LONG_QUEUE_URL)."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.long.redrive_policy).deadLetterTargetArn == aws_sqs_queue.dlq.arn && jsondecode(aws_sqs_queue.long.redrive_policy).maxReceiveCount == 5
    error_message = "The long jobs' queue dead-letters into the shared DLQ after the same count (the worker's sweep reads it)."
  }

  assert {
    condition     = aws_sqs_queue.long.visibility_timeout_seconds == aws_sqs_queue.this.visibility_timeout_seconds && aws_sqs_queue.long.receive_wait_time_seconds == 20 && aws_sqs_queue.long.sqs_managed_sse_enabled == true
    error_message = "The long jobs' queue is like the job queue: same visibility timeout, long polls, encrypted."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_sqs_queue.long.policy).Statement :
      s.Effect == "Deny" && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
    ])
    error_message = "The long jobs' queue refuses unencrypted transport."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.oldest_message["long"].dimensions.QueueName == "salon-test-jobs-long"
    error_message = "Long jobs that wait too long (no worker with a long slot) raise an alarm too."
  }
}

run "alarms_on_dlq_and_age" {
  module {
    source = "./modules/queue"
  }

  command = apply

  assert {
    condition     = aws_cloudwatch_metric_alarm.dlq_depth[0].metric_name == "ApproximateNumberOfMessagesVisible" && aws_cloudwatch_metric_alarm.dlq_depth[0].dimensions.QueueName == "salon-test-jobs-dlq" && aws_cloudwatch_metric_alarm.dlq_depth[0].threshold == 0
    error_message = "An alarm must fire as soon as the DLQ holds a message."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.oldest_message["jobs"].metric_name == "ApproximateAgeOfOldestMessage" && aws_cloudwatch_metric_alarm.oldest_message["jobs"].dimensions.QueueName == "salon-test-jobs"
    error_message = "An alarm must watch the age of the oldest waiting job."
  }

  assert {
    condition     = contains(aws_cloudwatch_metric_alarm.dlq_depth[0].alarm_actions, "arn:aws:sns:eu-west-1:123456789012:alarms")
    error_message = "Alarms notify the given topic."
  }
}

run "s3_may_send_upload_events" {
  module {
    source = "./modules/queue"
  }

  command = apply

  assert {
    condition = anytrue([
      for s in jsondecode(aws_sqs_queue.this.policy).Statement :
      s.Effect == "Allow" && try(s.Principal.Service, "") == "s3.amazonaws.com" && s.Action == "sqs:SendMessage" && try(s.Condition.ArnLike["aws:SourceArn"], []) == ["arn:aws:s3:::salon-test-media"]
    ])
    error_message = "The queue policy must let exactly the media bucket send event notifications."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(aws_sqs_queue.this.policy).Statement :
      s.Effect == "Deny" && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
    ])
    error_message = "The queue refuses unencrypted transport."
  }
}

run "rejects_bad_receive_count" {
  module {
    source = "./modules/queue"
  }

  command = plan

  variables {
    max_receive_count = 0
  }

  expect_failures = [var.max_receive_count]
}
