variable "name" {
  description = "Name prefix of the local stack's resources (tests use a unique one per run)."
  type        = string
  default     = "salon-local"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be lower-case letters, digits or hyphens."
  }
}

variable "region" {
  description = "Region LocalStack answers for."
  type        = string
  default     = "us-east-1"
}

variable "s3_prefix" {
  description = "Key prefix inside the bucket (SALON_S3_PREFIX)."
  type        = string
  default     = "salon/"
}

variable "public_url" {
  description = "Where the locally run gallery answers (CORS origin, SALON_PUBLIC_URL)."
  type        = string
  default     = "http://127.0.0.1:8000"
}
