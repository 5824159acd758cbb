output "bucket_name" {
  description = "Media bucket (SALON_S3_BUCKET)."
  value       = module.storage.bucket_name
}

output "upload_prefix" {
  description = "Key prefix whose new objects are announced to the queue."
  value       = module.storage.upload_prefix
}

output "queue_url" {
  description = "Job queue (SALON_SQS_QUEUE_URL)."
  value       = module.queue.queue_url
}

output "long_queue_url" {
  description = "Long jobs' queue (SALON_SQS_LONG_QUEUE_URL)."
  value       = module.queue.long_queue_url
}

output "dlq_url" {
  description = "Dead-letter queue of the job queue."
  value       = module.queue.dlq_url
}

output "max_receive_count" {
  description = "Deliveries before a job is dead-lettered."
  value       = module.queue.max_receive_count
}

output "task_role_names" {
  description = "IAM task roles by service."
  value       = module.iam.task_role_names
}

output "app_environment" {
  description = "Salon settings for running the app against this stack (add AWS_ENDPOINT_URL and a database)."
  value = {
    SALON_STORAGE            = "s3"
    SALON_QUEUE              = "sqs"
    SALON_S3_BUCKET          = module.storage.bucket_name
    SALON_S3_PREFIX          = var.s3_prefix
    SALON_SQS_QUEUE_URL      = module.queue.queue_url
    SALON_SQS_LONG_QUEUE_URL = module.queue.long_queue_url
    SALON_SQS_MAX_RECEIVES   = tostring(module.queue.max_receive_count)
    SALON_PUBLIC_URL         = var.public_url
  }
}
