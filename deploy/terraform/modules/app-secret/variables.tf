variable "name" {
  description = "Name of the Secrets Manager secret, e.g. salon-prod/secret-key."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", var.name))
    error_message = "name must be a valid Secrets Manager secret name."
  }
}

variable "description" {
  description = "What the secret is (the setting it feeds)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the secret."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "value" {
  description = "Value to store (ephemeral: never in plan or state), e.g. from the ephemeral aws_secretsmanager_random_password."
  type        = string
  ephemeral   = true
  sensitive   = true
}

variable "value_version" {
  description = "Bump to write a new value (rotation)."
  type        = number
  default     = 1
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
