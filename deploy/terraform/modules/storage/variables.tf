variable "bucket_name" {
  description = "Globally unique name of the media bucket (SALON_S3_BUCKET)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "key_prefix" {
  description = "Key prefix Salon writes under (SALON_S3_PREFIX); empty or ending in \"/\"."
  type        = string
  default     = ""

  validation {
    condition     = var.key_prefix == "" || can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.key_prefix))
    error_message = "key_prefix must be empty or end with \"/\" and contain no leading slash."
  }
}

variable "upload_prefix" {
  description = "Folder, under key_prefix, where direct browser uploads land before completion."
  type        = string
  default     = "uploads/"

  validation {
    condition     = can(regex("^[a-z0-9_-]+/$", var.upload_prefix))
    error_message = "upload_prefix must be one lower-case folder name ending with \"/\"."
  }
}

variable "abandoned_upload_days" {
  description = "Direct uploads never completed are deleted after this many days (the lifecycle half of cleaning abandoned intents)."
  type        = number
  default     = 2

  validation {
    condition     = var.abandoned_upload_days >= 1
    error_message = "abandoned_upload_days must be at least 1."
  }
}

variable "noncurrent_version_days" {
  description = "Overwritten or deleted object versions are kept this many days (undo window), then expire."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_days >= 1
    error_message = "noncurrent_version_days must be at least 1."
  }
}

variable "cors_allowed_origins" {
  description = "Origins allowed to POST directly to the bucket (the gallery's public URL)."
  type        = list(string)

  validation {
    condition     = length(var.cors_allowed_origins) > 0 && alltrue([for o in var.cors_allowed_origins : can(regex("^https?://[^/*]+$", o))])
    error_message = "cors_allowed_origins must list at least one origin such as https://photos.example.com (no wildcard, no path)."
  }
}

variable "sse_algorithm" {
  description = "Default bucket encryption: \"aws:kms\" (SSE-KMS with kms_key_arn and an S3 bucket key; production) or \"AES256\" (SSE-S3: no key to manage, e.g. on LocalStack)."
  type        = string
  default     = "aws:kms"

  validation {
    condition     = contains(["aws:kms", "AES256"], var.sse_algorithm)
    error_message = "sse_algorithm must be \"aws:kms\" or \"AES256\"."
  }
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS (required when sse_algorithm = \"aws:kms\")."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "upload_notification_enabled" {
  description = "Send s3:ObjectCreated:* events for the upload prefix to notification_queue_arn."
  type        = bool
  default     = true
}

variable "notification_queue_arn" {
  description = "SQS queue that receives upload events (its policy must allow this bucket)."
  type        = string
  default     = null
}

variable "cloudfront_enabled" {
  description = "Put a CloudFront distribution (origin access control, bucket stays private) in front of cloudfront_path_prefix."
  type        = bool
  default     = false
}

variable "cloudfront_path_prefix" {
  description = "Folder under key_prefix that CloudFront may read (renditions only; originals stay behind presigned URLs)."
  type        = string
  default     = "renditions/"
}

variable "cloudfront_public_keys" {
  description = "PEM public keys (RSA 2048) the distribution trusts, by name (e.g. { \"2026-12\" = <PEM> }); two during a rotation. Required with cloudfront_enabled."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for name, pem in var.cloudfront_public_keys :
      can(regex("^[A-Za-z0-9_-]{1,40}$", name)) && can(regex("^-----BEGIN PUBLIC KEY-----", trimspace(pem)))
    ])
    error_message = "cloudfront_public_keys maps names (letters, digits, - and _, up to 40) to PEM public keys (-----BEGIN PUBLIC KEY-----)."
  }
}

variable "cloudfront_signing_key" {
  description = "Which of cloudfront_public_keys Salon signs with (its id becomes SALON_S3_CLOUDFRONT_KEY_ID); null means the only one."
  type        = string
  default     = null
}

variable "cloudfront_price_class" {
  description = "CloudFront price class (PriceClass_100 = North America and Europe, cheapest)."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cloudfront_price_class)
    error_message = "cloudfront_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "access_log_days" {
  description = "Days to keep S3 server access logs."
  type        = number
  default     = 90

  validation {
    condition     = var.access_log_days >= 1
    error_message = "access_log_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete non-empty buckets (test stacks only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
