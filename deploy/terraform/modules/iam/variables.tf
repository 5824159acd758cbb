variable "name" {
  description = "Name prefix of the roles."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters allowed in IAM role names."
  }
}

variable "bucket_arn" {
  description = "ARN of the media bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN."
  }
}

variable "key_prefix" {
  description = "The only key prefix the tasks may touch (SALON_S3_PREFIX); empty means the whole bucket."
  type        = string
  default     = ""

  validation {
    condition     = var.key_prefix == "" || endswith(var.key_prefix, "/")
    error_message = "key_prefix must be empty or end with \"/\"."
  }
}

variable "queue_arn" {
  description = "ARN of the job queue."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.queue_arn))
    error_message = "queue_arn must be an SQS queue ARN."
  }
}

variable "long_queue_arn" {
  description = "ARN of the long jobs' queue (videos; SALON_SQS_LONG_QUEUE_URL); null when there is none."
  type        = string
  default     = null

  validation {
    condition     = var.long_queue_arn == null || can(regex("^arn:aws[a-z-]*:sqs:", var.long_queue_arn))
    error_message = "long_queue_arn must be an SQS queue ARN."
  }
}

variable "dlq_arn" {
  description = "ARN of the job queue's dead-letter queue (the worker marks dead-lettered jobs failed)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.dlq_arn))
    error_message = "dlq_arn must be an SQS queue ARN."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the bucket and secrets (tasks use it through S3 only; the execution role decrypts secrets); null when the bucket uses SSE-S3 and secrets the AWS managed key."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "secret_arns" {
  description = "Secrets Manager secrets the execution role injects into containers (database URL, secret key, ...)."
  type        = list(string)

  validation {
    condition     = alltrue([for a in var.secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:", a))])
    error_message = "secret_arns must be Secrets Manager ARNs."
  }
}

variable "log_group_arns" {
  description = "Log groups the containers write to."
  type        = list(string)
}

variable "ecr_repository_arn" {
  description = "ECR repository the image is pulled from."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
