variable "name" {
  description = "Name of the Cognito user pool."
  type        = string

  validation {
    condition     = can(regex("^[\\w\\s+=,.@-]{1,128}$", var.name))
    error_message = "name must be 1-128 characters allowed in a user pool name."
  }
}

variable "password_minimum_length" {
  description = "Minimum password length."
  type        = number
  default     = 12

  validation {
    condition     = var.password_minimum_length >= 8 && var.password_minimum_length <= 99
    error_message = "password_minimum_length must be between 8 and 99."
  }
}

variable "access_token_minutes" {
  description = "Lifetime of access and ID tokens, in minutes (Salon refreshes them)."
  type        = number
  default     = 15

  validation {
    condition     = var.access_token_minutes >= 5 && var.access_token_minutes <= 1440
    error_message = "access_token_minutes must be between 5 and 1440."
  }
}

variable "refresh_token_days" {
  description = "Lifetime of refresh tokens, in days."
  type        = number
  default     = 30

  validation {
    condition     = var.refresh_token_days >= 1 && var.refresh_token_days <= 3650
    error_message = "refresh_token_days must be between 1 and 3650."
  }
}

variable "mfa_configuration" {
  description = "OFF, OPTIONAL (users may enable TOTP) or ON."
  type        = string
  default     = "OPTIONAL"

  validation {
    condition     = contains(["OFF", "OPTIONAL", "ON"], var.mfa_configuration)
    error_message = "mfa_configuration must be OFF, OPTIONAL or ON."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the user pool (its users cannot be recreated)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "allow_self_signup" {
  description = "Whether people can create their own accounts. false: only administrators create users (`aws cognito-idp admin-create-user`), and Salon's sign-up page says so."
  type        = bool
  default     = true
}

variable "ses_email_identity_arn" {
  description = "ARN of a verified SES identity to send Cognito's mail (verification codes, password resets) through. null: Cognito's built-in sender, limited to a few dozen messages a day and meant for testing."
  type        = string
  default     = null

  validation {
    condition     = var.ses_email_identity_arn == null || can(regex("^arn:aws[a-z-]*:ses:", var.ses_email_identity_arn))
    error_message = "ses_email_identity_arn must be an SES identity ARN."
  }
}

variable "ses_from_address" {
  description = "From address of Cognito's mail when sent through SES, e.g. \"Salon <photos@example.com>\" (its domain must be the verified identity's)."
  type        = string
  default     = null
}

variable "ses_configuration_set" {
  description = "SES configuration set for Cognito's mail (bounce and complaint tracking). Optional."
  type        = string
  default     = null
}
