variable "name" {
  description = "Name prefix; log groups are /salon/<name>/<stream>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "streams" {
  description = "One log group per entry, e.g. web, worker, migrate."
  type        = set(string)
  default     = ["web", "worker", "migrate"]

  validation {
    condition     = alltrue([for s in var.streams : can(regex("^[a-z][a-z0-9-]*$", s))])
    error_message = "streams entries must be lower-case words."
  }
}

variable "retention_in_days" {
  description = "How long CloudWatch Logs keeps the application logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.retention_in_days)
    error_message = "retention_in_days must be a retention period CloudWatch Logs accepts."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the log groups (its policy must allow logs.<region>.amazonaws.com)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
