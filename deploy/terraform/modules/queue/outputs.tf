output "queue_url" {
  description = "URL of the job queue (SALON_SQS_QUEUE_URL)."
  value       = aws_sqs_queue.this.id
}

output "queue_arn" {
  description = "ARN of the job queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the job queue (CloudWatch metric dimension)."
  value       = aws_sqs_queue.this.name
}

output "long_queue_url" {
  description = "URL of the long jobs' queue (SALON_SQS_LONG_QUEUE_URL)."
  value       = aws_sqs_queue.long.id
}

output "long_queue_arn" {
  description = "ARN of the long jobs' queue."
  value       = aws_sqs_queue.long.arn
}

output "long_queue_name" {
  description = "Name of the long jobs' queue (CloudWatch metric dimension)."
  value       = aws_sqs_queue.long.name
}

output "notification_queue_arn" {
  description = "The queue ARN for bucket notifications: the queue exists with its policy (S3 checks that it may send when the notification is set)."
  value       = aws_sqs_queue.this.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "max_receive_count" {
  description = "Deliveries before dead-lettering (SALON_SQS_MAX_RECEIVES must equal it)."
  value       = var.max_receive_count
}
