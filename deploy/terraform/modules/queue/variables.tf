variable "name" {
  description = "Queue name; the long jobs' queue is <name>-long, the dead-letter queue <name>-dlq."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,75}$", var.name))
    error_message = "name must be 1-75 letters, digits, hyphens or underscores (room for the -long suffix)."
  }
}

variable "visibility_timeout_seconds" {
  description = "How long a received job stays hidden; must exceed the longest job (slideshow videos)."
  type        = number
  default     = 900

  validation {
    condition     = var.visibility_timeout_seconds >= 30 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be between 30 and 43200."
  }
}

variable "max_receive_count" {
  description = "Deliveries before a message is moved to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000
    error_message = "max_receive_count must be between 1 and 1000."
  }
}

variable "message_retention_seconds" {
  description = "How long the main queue keeps an unprocessed message."
  type        = number
  default     = 345600

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be between 60 and 1209600."
  }
}

variable "kms_key_arn" {
  description = "KMS key for server-side encryption; null uses SQS-managed SSE (which S3 event notifications can write to without key grants)."
  type        = string
  default     = null
}

variable "s3_source_bucket_arns" {
  description = "Buckets allowed to send event notifications (object created under the upload prefix) to the queue."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.s3_source_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::", a))])
    error_message = "s3_source_bucket_arns must be S3 bucket ARNs."
  }
}

variable "oldest_message_alarm_seconds" {
  description = "Alarm when the oldest waiting job is older than this (the worker is stuck or too small)."
  type        = number
  default     = 900

  validation {
    condition     = var.oldest_message_alarm_seconds >= 60
    error_message = "oldest_message_alarm_seconds must be at least 60."
  }
}

variable "alarms_enabled" {
  description = "Create the CloudWatch alarms (DLQ depth, oldest message age). Off only where CloudWatch is absent (LocalStack)."
  type        = bool
  default     = true
}

variable "alarm_actions" {
  description = "SNS topic ARNs notified when an alarm fires or clears."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
